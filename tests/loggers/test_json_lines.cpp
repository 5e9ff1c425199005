#include <doctest/doctest.h>

#include <cmath>

#include "errors/error.h"
#include "loggers/json_lines.h"

using namespace tempo;

TEST_SUITE("loggers") {
  TEST_CASE("json lines: numbers round-trip exactly, strings are escaped, non-finite values survive") {
    for (double v : {0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, 1e-5, 123456789.0}) {
      CAPTURE(v);
      const auto node = parse_json_line(json_number(v), "test");
      REQUIRE(node.kind == JsonNode::Kind::number);
      CHECK(node.number == v);
    }
    CHECK(std::isnan(*parse_json_line(json_number(std::nan("")), "t").as_number()));
    CHECK(*parse_json_line(json_number(-INFINITY), "t").as_number() == -INFINITY);
    const std::string tricky = "a\"b\\c\nd\x01/é";
    CHECK(parse_json_line(json_string(tricky), "t").string == tricky);
    CHECK(json_string("\x01") == "\"\\u0001\"");

    const auto record = parse_json_line(
        R"( {"step": 3, "metrics": {"loss/train/total": 0.5, "x": "nan"}, "ok": true, "no": false, "n": null, "l": [1, 2e2]} )",
        "t");
    CHECK(record.find("step")->number == 3);
    CHECK(record.find("metrics")->find("loss/train/total")->number == 0.5);
    CHECK(std::isnan(*record.find("metrics")->find("x")->as_number()));
    CHECK(record.find("ok")->boolean);
    CHECK_FALSE(record.find("no")->boolean);
    CHECK(record.find("no")->kind == JsonNode::Kind::boolean);
    CHECK(record.find("n")->kind == JsonNode::Kind::null);
    CHECK(record.find("l")->array.at(1).number == 200);
    CHECK(record.find("missing") == nullptr);
    CHECK(parse_json_line(R"("\ud83d\ude00")", "t").string == "\xF0\x9F\x98\x80");
  }

  TEST_CASE("json lines: malformed lines are refused, naming where") {
    for (const char* bad : {"", "{", "{\"a\": }", "{\"a\": 1,}", "[1 2]", "01", "1.", "{\"a\": 1} x", "\"\\x\"",
                            "\"unterminated", "nul", "{\"a\" 1}", "-", "\"\\ud800\""}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(parse_json_line(bad, "log.jsonl:7"), doctest::Contains("log.jsonl:7: invalid JSON at byte"),
                           DataError);
    }
    std::string deep(40, '[');
    CHECK_THROWS_WITH_AS(parse_json_line(deep, "t"), doctest::Contains("nested"), DataError);
  }
}
