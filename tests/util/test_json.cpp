#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "tempo/util/json.h"
#include "tempo/util/number_format.h"

using namespace tempo;

TEST_SUITE("util") {
  TEST_CASE("json: numbers round-trip exactly, strings are escaped, non-finite values survive") {
    for (double v : {0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, 1e-5, 123456789.0}) {
      CAPTURE(v);
      const auto node = parse_json(json_number(v), "test");
      REQUIRE(node.kind == JsonValue::Kind::number);
      CHECK(node.number == v);
    }
    CHECK(std::isnan(*parse_json(json_number(std::nan("")), "t").as_number()));
    CHECK(*parse_json(json_number(-INFINITY), "t").as_number() == -INFINITY);
    const std::string tricky = "a\"b\\c\nd\x01/\xC3\xA9";
    CHECK(parse_json(json_quote(tricky), "t").string == tricky);
    CHECK(json_quote("\x01") == "\"\\u0001\"");
    CHECK(json_quote("q\"b\\n\n\t\r") == "\"q\\\"b\\\\n\\n\\t\\r\"");

    const auto record = parse_json(
        R"( {"step": 3, "metrics": {"loss/train/total": 0.5, "x": "nan"}, "ok": true, "no": false, "n": null, "l": [1, 2e2]} )",
        "t");
    CHECK(record.find("step")->number == 3);
    CHECK(record.find("metrics")->find("loss/train/total")->number == 0.5);
    CHECK(std::isnan(*record.find("metrics")->find("x")->as_number()));
    CHECK(record.find("ok")->boolean);
    CHECK_FALSE(record.find("no")->boolean);
    CHECK(record.find("no")->kind == JsonValue::Kind::boolean);
    CHECK(record.find("n")->kind == JsonValue::Kind::null);
    CHECK(record.find("l")->array.at(1).number == 200);
    CHECK(record.find("missing") == nullptr);
    CHECK(record.find("step")->find("x") == nullptr);  // not an object
    CHECK(parse_json(R"("\ud83d\ude00")", "t").string == "\xF0\x9F\x98\x80");
    CHECK_FALSE(parse_json("\"x\"", "t").as_number());
  }

  TEST_CASE("json: escapes, \\u surrogate pairs and UTF-8 in strings") {
    const JsonValue v = parse_json("{\"\\u0061\\/\\ud83d\\ude00\":[-5, true, null, \"\"]}", "t");
    REQUIRE(v.kind == JsonValue::Kind::object);
    REQUIRE(v.object.size() == 1);
    CHECK(v.object[0].first == "a/\xF0\x9F\x98\x80");
    CHECK(v.object[0].second.array[0].integer);
    CHECK(v.object[0].second.array[0].negative);
    CHECK(v.object[0].second.array[0].magnitude == 5);
    CHECK(v.object[0].second.array[1].kind == JsonValue::Kind::boolean);
    CHECK(v.object[0].second.array[2].kind == JsonValue::Kind::null);
    CHECK(parse_json(R"("\b\f\n\r\t\"\\\u00e9\u20AC")", "t").string == "\b\f\n\r\t\"\\\xC3\xA9\xE2\x82\xAC");
    CHECK(parse_json("\"h\xC3\xA9 \xF0\x9F\x98\x80\"", "t").string == "h\xC3\xA9 \xF0\x9F\x98\x80");
    for (const char* bad : {"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\\u12\"",
                            "\"\\u12g4\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xC3\x28\"", "\"tab\there\""}) {
      CAPTURE(std::string(bad));
      CHECK_THROWS_AS(parse_json(bad, "t"), JsonError);
    }
    CHECK_THROWS_WITH(parse_json("\"\xC3\x28\"", "t"), doctest::Contains("invalid UTF-8"));
  }

  TEST_CASE("json: the quoter keeps valid UTF-8 and escapes each invalid byte, so its output always parses") {
    CHECK(json_quote("\xC3\xA9\xF0\x9F\x98\x80") == "\"\xC3\xA9\xF0\x9F\x98\x80\"");
    CHECK(json_quote("a\xFF" "b") == "\"a\\u00ffb\"");
    CHECK(json_quote("\xED\xA0\x80") == "\"\\u00ed\\u00a0\\u0080\"");  // an encoded surrogate
    CHECK(json_quote("\xC0\x80") == "\"\\u00c0\\u0080\"");              // an overlong NUL
    std::string every_byte;
    for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
    CHECK_NOTHROW(parse_json(json_quote(every_byte), "t"));
  }

  TEST_CASE("json: numbers follow the grammar; integers are kept exactly") {
    const auto max = parse_json("18446744073709551615", "t");
    CHECK(max.integer);
    CHECK(max.magnitude == 18446744073709551615ull);
    const auto min = parse_json("-9223372036854775808", "t");
    CHECK((min.integer && min.negative && min.magnitude == uint64_t{1} << 63));
    CHECK(min.number == -9223372036854775808.0);
    const auto zero = parse_json("-0", "t");
    CHECK((zero.integer && !zero.negative && zero.magnitude == 0));
    CHECK_FALSE(parse_json("18446744073709551616", "t").integer);  // too wide: a double only
    CHECK(parse_json("18446744073709551616", "t").number == 18446744073709551616.0);
    CHECK_FALSE(parse_json("1.5", "t").integer);
    CHECK(parse_json("1.5", "t").number == 1.5);
    CHECK(parse_json("-1.25e-3", "t").number == -1.25e-3);
    CHECK(parse_json("1E+2", "t").number == 100);
    CHECK(std::isinf(parse_json("1e400", "t").number));
    CHECK(parse_json("1e-400", "t").number == 0);

    const auto integers = JsonReadOptions().integers_only(true);
    CHECK(parse_json("[0, 12, -3]", "t", integers).array.at(2).magnitude == 3);
    CHECK_THROWS_WITH_AS(parse_json("1.5", "t", integers), doctest::Contains("only integers"), JsonError);
    CHECK_THROWS_WITH_AS(parse_json("1e3", "t", integers), doctest::Contains("only integers"), JsonError);
    CHECK_THROWS_WITH_AS(parse_json("18446744073709551616", "t", integers), doctest::Contains("64 bits"), JsonError);
    CHECK_THROWS_WITH_AS(parse_json("-9223372036854775809", "t", integers), doctest::Contains("64 bits"), JsonError);
  }

  TEST_CASE("json: malformed text is refused, naming where") {
    for (const char* bad : {"", "{", "{\"a\": }", "{\"a\": 1,}", "[1 2]", "01", "1.", "{\"a\": 1} x", "\"\\x\"",
                            "\"unterminated", "nul", "{\"a\" 1}", "-", "\"\\ud800\"", "+1", ".5", "1e", "[1,]",
                            "{'a':1}", "{\"a\":1,\"a\":2}", "{1:2}", "tru", "[", "]"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(parse_json(bad, "log.jsonl:7"), doctest::Contains("log.jsonl:7: invalid JSON at byte"),
                           JsonError);
    }
    try {
      parse_json("[1, 2, x]", "t");
      FAIL("accepted");
    } catch (const JsonError& e) {
      CHECK(e.offset() == 7);
      CHECK(std::string(e.what()) == "t: invalid JSON at byte 7: unexpected character 'x'");
    }
    CHECK_THROWS_WITH(parse_json("{\"a\":1,\"a\":2}", "t"), doctest::Contains("duplicate key \"a\""));
  }

  TEST_CASE("json: nesting and value-count limits") {
    std::string deep(40, '[');
    CHECK_THROWS_WITH_AS(parse_json(deep, "t", JsonReadOptions().max_depth(32)), doctest::Contains("nesting deeper"),
                         JsonError);
    const std::string ok = std::string(64, '[') + std::string(64, ']');
    CHECK_NOTHROW(parse_json(ok, "t"));
    CHECK_THROWS_WITH(parse_json("[" + ok + "]", "t"), doctest::Contains("nesting deeper than 64 levels"));
    CHECK_NOTHROW(parse_json("[[1]]", "t", JsonReadOptions().max_depth(2)));
    CHECK_THROWS_AS(parse_json("[[[1]]]", "t", JsonReadOptions().max_depth(2)), JsonError);
    CHECK_THROWS_WITH_AS(parse_json("[1,2,3]", "t", JsonReadOptions().max_values(3)),
                         doctest::Contains("more than 3 values"), JsonError);
    CHECK_NOTHROW(parse_json("[1,2,3]", "t", JsonReadOptions().max_values(4)));
  }

  TEST_CASE("number format: the shortest text that reads back as the same double") {
    const struct {
      double value;
      const char* text;
      const char* python;
    } cases[] = {{0.1, "0.1", "0.1"},
                 {1e-300, "1e-300", "1e-300"},
                 {5e-324, "5e-324", "5e-324"},
                 {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
                 {-0.0, "-0", "-0.0"},
                 {0.0, "0", "0.0"},
                 {2.0, "2", "2.0"},
                 {100.0, "100", "100.0"},
                 {-3e15, "-3000000000000000", "-3000000000000000.0"},
                 {1e16, "1e+16", "1e+16"},
                 {1e-5, "1e-05", "1e-05"},
                 {0.0001, "0.0001", "0.0001"},
                 {1.0 / 3.0, "0.3333333333333333", "0.3333333333333333"},
                 {123456789.0, "123456789", "123456789.0"}};
    for (const auto& c : cases) {
      CAPTURE(c.text);
      CHECK(format_double(c.value) == c.text);
      CHECK(format_double_python(c.value) == c.python);
      const double back = std::strtod(c.text, nullptr);
      CHECK(back == c.value);
      CHECK(std::signbit(back) == std::signbit(c.value));
    }
    CHECK(format_double(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(format_double(-std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(format_double(INFINITY) == "inf");
    CHECK(format_double_python(-INFINITY) == "-inf");
    CHECK(json_number(INFINITY) == "\"inf\"");
    CHECK(json_number(-0.0) == "-0");
    CHECK(json_number(0.5) == "0.5");
  }
}
