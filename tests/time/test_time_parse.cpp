#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/time/time_test_support.h"
#include "tempo/time/time_quantity.h"

using tempo::Time;
using tempo::TimeUnit;
using tempo::testing::time_error_of;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Valid {
  std::string input;
  TimeUnit unit;
  double value;           // compared exactly: every value here is representable
  int64_t count;          // ignored for dur
  std::string canonical;  // to_string of the parsed Time
};

const std::vector<Valid> kValid{
    {"10ep", TimeUnit::EPOCH, 10, 10, "10ep"},
    {"500ba", TimeUnit::BATCH, 500, 500, "500ba"},
    {"2048sp", TimeUnit::SAMPLE, 2048, 2048, "2048sp"},
    {"7iter", TimeUnit::ITERATION, 7, 7, "7iter"},
    {"1e6tok", TimeUnit::TOKEN, 1e6, 1000000, "1000000tok"},
    {"3e4sp", TimeUnit::SAMPLE, 3e4, 30000, "30000sp"},
    {"1E3ba", TimeUnit::BATCH, 1000, 1000, "1000ba"},
    {"1e+3ba", TimeUnit::BATCH, 1000, 1000, "1000ba"},
    {"1.5e3ba", TimeUnit::BATCH, 1500, 1500, "1500ba"},
    {"2.50e2sp", TimeUnit::SAMPLE, 250, 250, "250sp"},
    {"10e-1ep", TimeUnit::EPOCH, 1, 1, "1ep"},
    {"1.0ep", TimeUnit::EPOCH, 1, 1, "1ep"},
    {"0.0ep", TimeUnit::EPOCH, 0, 0, "0ep"},
    {"0e999999999999tok", TimeUnit::TOKEN, 0, 0, "0tok"},
    {"0ba", TimeUnit::BATCH, 0, 0, "0ba"},
    {"10EP", TimeUnit::EPOCH, 10, 10, "10ep"},
    {"10Ba", TimeUnit::BATCH, 10, 10, "10ba"},
    {"3ITER", TimeUnit::ITERATION, 3, 3, "3iter"},
    {"5Tok", TimeUnit::TOKEN, 5, 5, "5tok"},
    {"9223372036854775807tok", TimeUnit::TOKEN, 9223372036854775807.0, kMax, "9223372036854775807tok"},
    {"9.223372036854775807e18tok", TimeUnit::TOKEN, 9223372036854775807.0, kMax, "9223372036854775807tok"},
    {"1e18ba", TimeUnit::BATCH, 1e18, 1000000000000000000, "1000000000000000000ba"},
    {"0.5dur", TimeUnit::DURATION, 0.5, 0, "0.5dur"},
    {".5dur", TimeUnit::DURATION, 0.5, 0, "0.5dur"},
    {"5.dur", TimeUnit::DURATION, 5, 0, "5dur"},
    {"1dur", TimeUnit::DURATION, 1, 0, "1dur"},
    {"0dur", TimeUnit::DURATION, 0, 0, "0dur"},
    {"1.5dur", TimeUnit::DURATION, 1.5, 0, "1.5dur"},
    {"2.5e-1dur", TimeUnit::DURATION, 0.25, 0, "0.25dur"},
    {"0.1DUR", TimeUnit::DURATION, 0.1, 0, "0.1dur"},
    {"10", TimeUnit::EPOCH, 10, 10, "10ep"},
    {"0", TimeUnit::EPOCH, 0, 0, "0ep"},
    {"007", TimeUnit::EPOCH, 7, 7, "7ep"},
    {"10sec", TimeUnit::SECOND, 10, 10, "10sec"},
    {"10SEC", TimeUnit::SECOND, 10, 10, "10sec"},
    {"3600sec", TimeUnit::SECOND, 3600, 3600, "3600sec"},
    {"45s", TimeUnit::SECOND, 45, 45, "45sec"},
    {"0s", TimeUnit::SECOND, 0, 0, "0sec"},
    {"5m", TimeUnit::SECOND, 300, 300, "300sec"},
    {"2h", TimeUnit::SECOND, 7200, 7200, "7200sec"},
    {"1h30m", TimeUnit::SECOND, 5400, 5400, "5400sec"},
    {"1h0m30s", TimeUnit::SECOND, 3630, 3630, "3630sec"},
    {"1h5s", TimeUnit::SECOND, 3605, 3605, "3605sec"},
    {"59m59s", TimeUnit::SECOND, 3599, 3599, "3599sec"},
    {"05m07s", TimeUnit::SECOND, 307, 307, "307sec"},
    {"100h", TimeUnit::SECOND, 360000, 360000, "360000sec"},
    // Digit separators, as Python's float() (and so Composer) reads them.
    {"1_000ba", TimeUnit::BATCH, 1000, 1000, "1000ba"},
    {"1_0", TimeUnit::EPOCH, 10, 10, "10ep"},
    {"1e1_0tok", TimeUnit::TOKEN, 1e10, 10000000000, "10000000000tok"},
    {"1_2.5_0e1sp", TimeUnit::SAMPLE, 125, 125, "125sp"},
    {"0.2_5dur", TimeUnit::DURATION, 0.25, 0, "0.25dur"},
    {"2_5e-2dur", TimeUnit::DURATION, 0.25, 0, "0.25dur"},
};

// Composer's tests/test_time.py, case by case (test_time_parse, test_to_timestring, and the
// integral units' rejection of fractions and acceptance of whole floats).
struct ComposerCase {
  std::string input;
  int64_t count;
  TimeUnit unit;
};
const std::vector<ComposerCase> kComposerParse{
    {"2iter", 2, TimeUnit::ITERATION},
    {"1ep", 1, TimeUnit::EPOCH},
    {"2ba", 2, TimeUnit::BATCH},
    {"3e10sp", 30000000000, TimeUnit::SAMPLE},
    {"3_0e10sp", 300000000000, TimeUnit::SAMPLE},
    {"4tok", 4, TimeUnit::TOKEN},
    {"4_000tok", 4000, TimeUnit::TOKEN},
    {"4_00_0tok", 4000, TimeUnit::TOKEN},
    {"1h20m40s", 4840, TimeUnit::SECOND},
};

struct Invalid {
  std::string input;
  std::string reason;  // a fragment the message must contain
};

const std::vector<Invalid> kInvalid{
    {"", "empty"},
    {"ep", "number is missing"},
    {"sec", "number is missing"},
    {"-1ba", "negative"},
    {"-0.5dur", "negative"},
    {"--1ba", "negative"},
    {"1.5ba", "unit 'ba' needs a whole number, not 1.5"},
    {"0.5ep", "unit 'ep' needs a whole number"},
    {"1e-5ba", "unit 'ba' needs a whole number"},
    {"1.05e1tok", "unit 'tok' needs a whole number"},
    {"2.5sec", "unit 'sec' needs a whole number"},
    {"90m", "minutes must be 0..59"},
    {"1h90m", "minutes must be 0..59"},
    {"1h60m", "minutes must be 0..59"},
    {"1h30m75s", "seconds must be 0..59"},
    {"60s", "seconds must be 0..59"},
    {"99999999999999999999m", "minutes must be 0..59"},
    {"9999999999999999h", "does not fit"},
    {"99999999999999999999h", "does not fit"},
    {"10 epochs", "no known unit"},
    {"10epochs", "no known unit"},
    {"10 ep", "not a plain decimal number"},
    {" 10ep", "whitespace"},
    {"10ep ", "whitespace"},
    {"10ep\n", "whitespace"},
    {"\t10", "whitespace"},
    {"nanep", "not a plain decimal number"},
    {"infba", "not a plain decimal number"},
    {"nandur", "not a plain decimal number"},
    {"infdur", "not a plain decimal number"},
    {"1e400tok", "does not fit"},
    {"1e400dur", "out of the range"},
    {"1e-400dur", "out of the range"},
    {"1e999999999999999999999dur", "out of the range"},
    {"1e999999999999999999999ba", "does not fit"},
    {"1e999999999tok", "does not fit"},
    {"9223372036854775808ba", "does not fit"},
    {"99999999999999999999", "does not fit"},
    {"1e19ba", "does not fit"},
    {"0x10ba", "not a plain decimal number"},
    {"+5ep", "not a plain decimal number"},
    {"+5", "no known unit"},
    {"1e6", "no known unit"},
    {"5.5", "no known unit"},
    {"ba10", "no known unit"},
    {"10ep10", "no known unit"},
    {"1,000ba", "not a plain decimal number"},
    {"1__000ba", "misplaced '_'"},
    {"_1000ba", "misplaced '_'"},
    {"1000_ba", "misplaced '_'"},
    {"1_.5dur", "misplaced '_'"},
    {"1._5dur", "misplaced '_'"},
    {"1_e5tok", "misplaced '_'"},
    {"1e_5tok", "misplaced '_'"},
    {"1e-_5dur", "misplaced '_'"},
    {"1_000_", "no known unit"},
    {"1_h", "no known unit"},
    {"1_.5ba", "misplaced '_'"},
    {"1_0.5ba", "unit 'ba' needs a whole number, not 1_0.5"},
    {"1..5dur", "not a plain decimal number"},
    {".dur", "not a plain decimal number"},
    {"1edur", "not a plain decimal number"},
    {"1e+ba", "not a plain decimal number"},
    {"e5ba", "not a plain decimal number"},
    {"1e5.5ba", "not a plain decimal number"},
    {"10epep", "not a plain decimal number"},
    {"30m1h", "no known unit"},
    {"1h1h", "no known unit"},
    {"1h30", "no known unit"},
    {"1H", "no known unit"},
    {"10S", "no known unit"},
    {"1d", "no known unit"},
    {"s", "no known unit"},
    {"h", "no known unit"},
    {"1 h", "no known unit"},
};

}  // namespace

TEST_SUITE("time") {
  TEST_CASE("Time::parse accepts every documented form and round-trips through to_string") {
    for (const Valid& v : kValid) {
      CAPTURE(v.input);
      Time t = Time::parse(v.input);
      CHECK(t.unit() == v.unit);
      CHECK(t.value() == v.value);
      if (v.unit == TimeUnit::DURATION) {
        CHECK(t.fraction() == v.value);
      } else {
        CHECK(t.count() == v.count);
      }
      CHECK(tempo::to_string(t) == v.canonical);
      Time back = Time::parse(tempo::to_string(t));
      CHECK(back.unit() == t.unit());
      CHECK(back == t);
    }
  }

  TEST_CASE("Time::parse rejects malformed strings, quoting them and listing the accepted forms") {
    for (const Invalid& bad : kInvalid) {
      CAPTURE(bad.input);
      std::string msg = time_error_of([&] { Time::parse(bad.input); });
      CHECK(msg.find("invalid time string \"" + bad.input + "\"") != std::string::npos);
      CHECK(msg.find(bad.reason) != std::string::npos);
      CHECK(msg.find("expected <integer><unit> with unit one of iter, ep, ba, sp, tok, sec") !=
            std::string::npos);
      CHECK(msg.find("a bare integer of epochs") != std::string::npos);
      CHECK(msg.find("\"1h30m\"") != std::string::npos);
    }
  }

  TEST_CASE("Composer's test_time.py cases parse to the same values") {
    for (const ComposerCase& c : kComposerParse) {
      CAPTURE(c.input);
      Time t = Time::parse(c.input);
      CHECK(t.unit() == c.unit);
      CHECK(t.count() == c.count);
    }
    CHECK(Time::parse("0.5dur").fraction() == 0.5);
    // test_to_timestring
    CHECK(tempo::to_string(Time(2, TimeUnit::ITERATION)) == "2iter");
    CHECK(tempo::to_string(Time(1, TimeUnit::EPOCH)) == "1ep");
    CHECK(tempo::to_string(Time(2, TimeUnit::BATCH)) == "2ba");
    CHECK(tempo::to_string(Time(3, TimeUnit::SAMPLE)) == "3sp");
    CHECK(tempo::to_string(Time(4, TimeUnit::TOKEN)) == "4tok");
    CHECK(tempo::to_string(Time::from_duration(0.5)) == "0.5dur");
    CHECK(tempo::to_string(Time(6, TimeUnit::SECOND)) == "6sec");
    // Integral units refuse fractions (Composer: TypeError) and take whole floats.
    for (const char* fractional : {"1.1iter", "1.5ep", "2.1ba", "3.2sp", "3.4tok", "0.1sec"}) {
      CAPTURE(fractional);
      CHECK(time_error_of([&] { Time::parse(fractional); }).find("needs a whole number") != std::string::npos);
    }
    for (const char* whole : {"0.5dur", "1.0iter", "2.0ep", "3.000ba", "030.0sp", "30sec"}) {
      CAPTURE(whole);
      CHECK_NOTHROW(Time::parse(whole));
    }
    CHECK(Time::parse("030.0sp").count() == 30);
  }

  TEST_CASE("to_string uses the shortest round-tripping fraction and survives parse") {
    const std::vector<double> fractions{0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-7, 1e20, 0.30000000000000004, 123.456};
    for (double f : fractions) {
      CAPTURE(f);
      Time t = Time::from_duration(f);
      CHECK(Time::parse(tempo::to_string(t)).fraction() == f);
    }
    CHECK(tempo::to_string(Time::from_duration(0.1)) == "0.1dur");
    CHECK(tempo::to_string(Time::from_duration(1.0 / 3.0)) == "0.3333333333333333dur");
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{9007199254740993}, kMax}) {
      for (TimeUnit u : {TimeUnit::ITERATION, TimeUnit::EPOCH, TimeUnit::BATCH, TimeUnit::SAMPLE,
                         TimeUnit::TOKEN, TimeUnit::SECOND}) {
        Time t(n, u);
        Time back = Time::parse(tempo::to_string(t));
        CHECK(back.unit() == u);
        CHECK(back.count() == n);
      }
    }
  }

  TEST_CASE("to_string, operator<< and fmt agree") {
    Time t = Time::parse("1e6tok");
    std::ostringstream os;
    os << t;
    CHECK(os.str() == "1000000tok");
    CHECK(fmt::format("{}", t) == "1000000tok");
    CHECK(fmt::format("[{:>8}]", Time::from_epoch(3)) == "[     3ep]");
  }
}
