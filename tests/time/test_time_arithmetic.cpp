#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tests/time/time_test_support.h"
#include "tempo/time/time_quantity.h"

using tempo::Time;
using tempo::TimeUnit;
using tempo::testing::time_error_of;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Time T(const char* s) { return Time::parse(s); }
Time ep(int64_t n) { return Time::from_epoch(n); }
Time ba(int64_t n) { return Time::from_batch(n); }

struct Case {
  const char* what;
  std::function<Time()> compute;
  std::string expected;  // to_string of the result: checks unit and exact value at once
};

struct Failure {
  const char* what;
  std::function<void()> run;
  std::string fragment;
};

}  // namespace

TEST_SUITE("time") {
  TEST_CASE("Time arithmetic within a unit and with dur factors") {
    const std::vector<Case> cases{
        {"10ep + 5ep", [] { return T("10ep") + T("5ep"); }, "15ep"},
        {"10ep - 15ep", [] { return T("10ep") - T("15ep"); }, "-5ep"},
        {"0.25dur + 0.5dur", [] { return T("0.25dur") + T("0.5dur"); }, "0.75dur"},
        {"1dur - 0.25dur", [] { return T("1dur") - T("0.25dur"); }, "0.75dur"},
        {"-(10ep)", [] { return -T("10ep"); }, "-10ep"},
        {"-(0.5dur)", [] { return -T("0.5dur"); }, "-0.5dur"},
        {"10ba % 3ba", [] { return T("10ba") % T("3ba"); }, "1ba"},
        {"-7ba % 3ba (sign of divisor)", [] { return ba(-7) % ba(3); }, "2ba"},
        {"7ba % -3ba", [] { return ba(7) % ba(-3); }, "-2ba"},
        {"min % -1", [] { return ba(kMin) % ba(-1); }, "0ba"},
        {"0.75dur % 0.5dur", [] { return T("0.75dur") % T("0.5dur"); }, "0.25dur"},
        {"10ep * 0.5dur", [] { return T("10ep") * T("0.5dur"); }, "5ep"},
        {"0.5dur * 10ep", [] { return T("0.5dur") * T("10ep"); }, "5ep"},
        {"7ba * 0.5dur truncates", [] { return T("7ba") * T("0.5dur"); }, "3ba"},
        {"-7ba * 0.5dur truncates toward zero", [] { return ba(-7) * T("0.5dur"); }, "-3ba"},
        {"0.5dur * 0.5dur", [] { return T("0.5dur") * T("0.5dur"); }, "0.25dur"},
        {"4ep / 2ep", [] { return T("4ep") / T("2ep"); }, "2dur"},
        {"1ba / 4ba", [] { return T("1ba") / T("4ba"); }, "0.25dur"},
        {"0.5dur / 0.25dur", [] { return T("0.5dur") / T("0.25dur"); }, "2dur"},
        {"10ep * 2", [] { return T("10ep") * 2; }, "20ep"},
        {"2 * 10ep", [] { return 2 * T("10ep"); }, "20ep"},
        {"10ep * 0.25", [] { return T("10ep") * 0.25; }, "2ep"},
        {"0.25 * 10ep", [] { return 0.25 * T("10ep"); }, "2ep"},
        {"10ep * 0.3f", [] { return T("10ep") * 0.3f; }, "3ep"},
        {"10ep / 4", [] { return T("10ep") / 4; }, "2ep"},
        {"10ep / 4.0", [] { return T("10ep") / 4.0; }, "2ep"},
        {"-10ep / 4", [] { return ep(-10) / 4; }, "-2ep"},
        {"-10ep / 4.0", [] { return ep(-10) / 4.0; }, "-2ep"},
        {"0.5dur * 3", [] { return T("0.5dur") * 3; }, "1.5dur"},
        {"0.5dur / 2", [] { return T("0.5dur") / 2; }, "0.25dur"},
        {"45sec + 1h", [] { return T("45s") + T("1h"); }, "3645sec"},
        {"integer factors are exact", [] { return Time::from_token(9007199254740993) * 1; },
         "9007199254740993tok"},
        {"integer divisors are exact", [] { return Time::from_token(9007199254740993) / 1; },
         "9007199254740993tok"},
        {"max / -1", [] { return Time::from_token(kMax) / -1; }, "-9223372036854775807tok"},
        {"Time(1, dur)", [] { return Time(1, TimeUnit::DURATION); }, "1dur"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      CHECK(tempo::to_string(c.compute()) == c.expected);
    }
  }

  TEST_CASE("Time arithmetic errors name the operands") {
    const std::vector<Failure> failures{
        {"add", [] { T("10ep") + T("5ba"); }, "cannot add 10ep and 5ba: units differ"},
        {"subtract", [] { T("10ep") - T("0.5dur"); }, "cannot subtract 10ep and 0.5dur: units differ"},
        {"mod", [] { T("10ep") % T("5ba"); }, "cannot take the remainder of 10ep by 5ba: units differ"},
        {"divide", [] { T("10ep") / T("5ba"); }, "cannot divide 10ep by 5ba: units differ"},
        {"multiply", [] { T("10ep") * T("5ba"); }, "cannot multiply 10ep by 5ba: one of them must be in dur"},
        {"mod zero", [] { T("10ep") % T("0ep"); }, "by zero"},
        {"mod zero dur", [] { T("0.5dur") % T("0dur"); }, "by zero"},
        {"divide by 0ep", [] { T("10ep") / T("0ep"); }, "cannot divide 10ep by 0ep"},
        {"divide by 0", [] { T("10ep") / 0; }, "cannot divide 10ep by zero"},
        {"divide by 0.0", [] { T("10ep") / 0.0; }, "cannot divide 10ep by zero"},
        {"add overflow", [] { Time::from_token(kMax) + T("1tok"); }, "overflows a 64-bit integer"},
        {"sub overflow", [] { Time::from_token(kMin) - T("1tok"); }, "overflows a 64-bit integer"},
        {"neg overflow", [] { -Time::from_token(kMin); }, "overflows a 64-bit integer"},
        {"min / -1", [] { Time::from_token(kMin) / -1; }, "overflows a 64-bit integer"},
        {"mul overflow", [] { Time::from_token(kMax) * 2; }, "overflows a 64-bit integer"},
        {"scale overflow", [] { T("1ep") * 1e300; }, "does not fit in a 64-bit integer"},
        {"scale nan", [] { T("1ep") * std::nan(""); }, "does not fit in a 64-bit integer"},
        {"dur overflow", [] { T("1e308dur") * 10; }, "must be a finite fraction"},
        {"from_duration nan", [] { Time::from_duration(std::nan("")); }, "must be a finite fraction"},
        {"from_duration inf", [] { Time::from_duration(HUGE_VAL); }, "must be a finite fraction"},
        {"count of dur", [] { T("0.5dur").count(); }, "0.5dur is a fraction of max_duration"},
        {"fraction of ep", [] { T("3ep").fraction(); }, "3ep is a count"},
    };
    for (const Failure& f : failures) {
      CAPTURE(f.what);
      CHECK(time_error_of(f.run).find(f.fragment) != std::string::npos);
    }
  }

  TEST_CASE("Time comparisons within a unit") {
    struct Row {
      const char* a;
      const char* b;
      int expected;
    };
    const std::vector<Row> rows{
        {"10ep", "5ep", 1},         {"5ep", "10ep", -1},       {"10ep", "10", 0},
        {"1e6tok", "1000000tok", 0}, {"0.5dur", "0.25dur", 1},  {"0.25dur", "0.5dur", -1},
        {"0.5dur", ".5dur", 0},     {"0s", "1sec", -1},        {"1h", "3600sec", 0},
        {"9223372036854775807ba", "9223372036854775806ba", 1},
    };
    for (const Row& r : rows) {
      CAPTURE(r.a);
      CAPTURE(r.b);
      Time a = T(r.a), b = T(r.b);
      CHECK(tempo::compare(a, b) == r.expected);
      CHECK((a == b) == (r.expected == 0));
      CHECK((a != b) == (r.expected != 0));
      CHECK((a < b) == (r.expected < 0));
      CHECK((a <= b) == (r.expected <= 0));
      CHECK((a > b) == (r.expected > 0));
      CHECK((a >= b) == (r.expected >= 0));
    }
  }

  TEST_CASE("comparing different units throws, naming both") {
    Time a = T("10ep"), b = T("500ba");
    const std::vector<std::function<void()>> ops{
        [&] { (void)(a == b); }, [&] { (void)(a != b); }, [&] { (void)(a < b); },
        [&] { (void)(a <= b); }, [&] { (void)(a > b); },  [&] { (void)(a >= b); },
    };
    for (const auto& op : ops) {
      CHECK(time_error_of(op).find("cannot compare 10ep with 500ba: units differ") != std::string::npos);
    }
    CHECK(time_error_of([] { (void)(T("0.5dur") < T("1ep")); }).find("units differ") != std::string::npos);
  }

  TEST_CASE("check_max_duration accepts counts and rejects dur, sec, zero and negatives") {
    for (const char* ok : {"10ep", "500ba", "2048sp", "1e6tok", "7iter", "10"}) {
      CAPTURE(ok);
      CHECK_NOTHROW(tempo::check_max_duration(T(ok)));
    }
    struct Row {
      Time t;
      std::string fragment;
    };
    const std::vector<Row> rows{
        {T("0.5dur"), "max_duration cannot be in 'dur' (got 0.5dur)"},
        {T("1dur"), "max_duration cannot be in 'dur'"},
        {T("1h"), "max_duration cannot be in 'sec' (got 3600sec)"},
        {T("10sec"), "max_duration cannot be in 'sec'"},
        {ep(-1), "max_duration must be positive (got -1ep)"},
        {T("0ep"), "max_duration must be positive (got 0ep)"},
        {T("0ba"), "max_duration must be positive (got 0ba)"},
    };
    for (const Row& r : rows) {
      CAPTURE(r.t);
      CHECK(time_error_of([&] { tempo::check_max_duration(r.t); }).find(r.fragment) != std::string::npos);
    }
  }

  TEST_CASE("a default Time is 0ep") {
    Time t;
    CHECK(t.unit() == TimeUnit::EPOCH);
    CHECK(t.count() == 0);
    CHECK(t == T("0"));
  }
}
