#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <vector>

#include "tests/time/time_test_support.h"
#include "tempo/time/time_unit.h"

using tempo::TimeUnit;
using tempo::testing::time_error_of;

TEST_SUITE("time") {
  TEST_CASE("TimeUnit names round-trip in any case") {
    struct Row {
      TimeUnit unit;
      std::string name;
    };
    const std::vector<Row> rows{
        {TimeUnit::ITERATION, "iter"}, {TimeUnit::EPOCH, "ep"},     {TimeUnit::BATCH, "ba"},
        {TimeUnit::SAMPLE, "sp"},      {TimeUnit::TOKEN, "tok"},    {TimeUnit::DURATION, "dur"},
        {TimeUnit::SECOND, "sec"},
    };
    for (const Row& r : rows) {
      CAPTURE(r.name);
      CHECK(tempo::to_string(r.unit) == r.name);
      CHECK(fmt::format("{}", r.unit) == r.name);
      CHECK(tempo::parse_time_unit(r.name) == r.unit);
      std::string upper = r.name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      CHECK(tempo::parse_time_unit(upper) == r.unit);
    }
    CHECK(tempo::parse_time_unit("Ep") == TimeUnit::EPOCH);
  }

  TEST_CASE("parse_time_unit rejects other names and lists the accepted ones") {
    for (const char* bad : {"", "epoch", "epochs", "EPOCH", "e", " ep", "ep ", "s", "h", "batch", "duration"}) {
      CAPTURE(bad);
      std::string msg = time_error_of([&] { tempo::parse_time_unit(bad); });
      CHECK(msg.find(fmt::format("\"{}\"", bad)) != std::string::npos);
      CHECK(msg.find("iter, ep, ba, sp, tok, dur, sec") != std::string::npos);
    }
  }
}
