#include <doctest/doctest.h>

#include <cereal/archives/binary.hpp>
#include <cereal/archives/json.hpp>
#include <cereal/types/vector.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/time/time_test_support.h"
#include "tempo/time/cereal.h"
#include "tempo/time/timestamp.h"

using tempo::Time;
using tempo::Timestamp;
using tempo::TimestampFields;
using tempo::TimeUnit;
using tempo::testing::time_error_of;

namespace {

Time T(const char* s) { return Time::parse(s); }

// Three epochs in, partway through the fourth; values chosen so every unit differs.
Timestamp sample_timestamp() {
  TimestampFields f;
  f.iteration = 2;
  f.epoch = 3;
  f.batch = 40;
  f.sample = 1280;
  f.token = 5000;
  f.epoch_in_iteration = 1;
  f.token_in_iteration = 700;
  f.batch_in_epoch = 4;
  f.sample_in_epoch = 128;
  f.token_in_epoch = 300;
  f.total_wct = 3661.9;
  f.iteration_wct = 0.1;
  f.epoch_wct = 1.0 / 3.0;
  f.batch_wct = 0.30000000000000004;
  return Timestamp(f);
}

}  // namespace

TEST_SUITE("time") {
  TEST_CASE("a default Timestamp is all zeros") {
    Timestamp ts;
    for (TimeUnit u : {TimeUnit::ITERATION, TimeUnit::EPOCH, TimeUnit::BATCH, TimeUnit::SAMPLE,
                       TimeUnit::TOKEN, TimeUnit::SECOND}) {
      CHECK(ts.get(u).count() == 0);
    }
    CHECK(ts == Timestamp(TimestampFields{}));
    CHECK(ts.total_wct() == 0.0);
  }

  TEST_CASE("to_next_batch, to_next_epoch and to_next_iteration follow Composer") {
    const Timestamp t0;
    const Timestamp t1 = t0.to_next_batch(32, 100, 0.5);
    CHECK(t0 == Timestamp());  // advancing returns a new Timestamp
    CHECK(t1.batch() == 1);
    CHECK(t1.batch_in_epoch() == 1);
    CHECK(t1.sample() == 32);
    CHECK(t1.sample_in_epoch() == 32);
    CHECK(t1.token() == 100);
    CHECK(t1.token_in_epoch() == 100);
    CHECK(t1.token_in_iteration() == 100);
    CHECK(t1.epoch() == 0);
    CHECK(t1.total_wct() == 0.5);
    CHECK(t1.iteration_wct() == 0.5);
    CHECK(t1.epoch_wct() == 0.5);
    CHECK(t1.batch_wct() == 0.5);

    const Timestamp t2 = t1.to_next_batch(16, 50, 0.25);
    CHECK(t2.batch() == 2);
    CHECK(t2.batch_in_epoch() == 2);
    CHECK(t2.sample() == 48);
    CHECK(t2.token_in_epoch() == 150);
    CHECK(t2.total_wct() == 0.75);
    CHECK(t2.epoch_wct() == 0.75);
    CHECK(t2.batch_wct() == 0.25);  // the last batch only

    const Timestamp e1 = t2.to_next_epoch(0.125);
    CHECK(e1.epoch() == 1);
    CHECK(e1.epoch_in_iteration() == 1);
    CHECK(e1.batch_in_epoch() == 0);
    CHECK(e1.sample_in_epoch() == 0);
    CHECK(e1.token_in_epoch() == 0);
    CHECK(e1.batch() == 2);
    CHECK(e1.sample() == 48);
    CHECK(e1.token() == 150);
    CHECK(e1.token_in_iteration() == 150);
    CHECK(e1.total_wct() == 0.875);
    CHECK(e1.iteration_wct() == 0.875);
    CHECK(e1.epoch_wct() == 0.0);
    CHECK(e1.batch_wct() == 0.0);

    const Timestamp e1b1 = e1.to_next_batch(8);
    CHECK(e1b1.batch() == 3);
    CHECK(e1b1.batch_in_epoch() == 1);
    CHECK(e1b1.sample_in_epoch() == 8);
    CHECK(e1b1.token() == 150);
    CHECK(e1b1.batch_wct() == 0.0);

    const Timestamp i1 = e1b1.to_next_iteration(1.0);
    CHECK(i1.iteration() == 1);
    CHECK(i1.epoch_in_iteration() == 0);
    CHECK(i1.token_in_iteration() == 0);
    CHECK(i1.batch_in_epoch() == 0);
    CHECK(i1.sample_in_epoch() == 0);
    CHECK(i1.token_in_epoch() == 0);
    CHECK(i1.epoch() == 1);
    CHECK(i1.batch() == 3);
    CHECK(i1.sample() == 56);
    CHECK(i1.token() == 150);
    CHECK(i1.total_wct() == 1.875);
    CHECK(i1.iteration_wct() == 0.0);
    CHECK(i1.epoch_wct() == 0.0);
    CHECK(i1.batch_wct() == 0.0);
  }

  TEST_CASE("a training loop's counters add up") {
    struct Row {
      int epochs, batches_per_epoch, samples_per_batch, tokens_per_batch;
    };
    for (Row r : {Row{1, 1, 1, 0}, Row{3, 4, 8, 0}, Row{2, 5, 3, 7}}) {
      Timestamp ts;
      for (int e = 0; e < r.epochs; ++e) {
        for (int b = 0; b < r.batches_per_epoch; ++b) {
          ts = ts.to_next_batch(r.samples_per_batch, r.tokens_per_batch, 0.25);
          CHECK(ts.batch_in_epoch() == b + 1);
          CHECK(ts.sample_in_epoch() == (b + 1) * r.samples_per_batch);
        }
        ts = ts.to_next_epoch();
      }
      int64_t batches = int64_t{r.epochs} * r.batches_per_epoch;
      CHECK(ts.epoch() == r.epochs);
      CHECK(ts.batch() == batches);
      CHECK(ts.sample() == batches * r.samples_per_batch);
      CHECK(ts.token() == batches * r.tokens_per_batch);
      CHECK(ts.total_wct() == 0.25 * static_cast<double>(batches));
      CHECK(ts.batch_in_epoch() == 0);
      CHECK(ts >= Time(r.epochs, TimeUnit::EPOCH));
    }
  }

  TEST_CASE("invalid fields and advances throw TimeError naming the field") {
    const std::vector<std::pair<std::function<void(TimestampFields&)>, std::string>> bad_fields{
        {[](TimestampFields& f) { f.batch = -1; }, "Timestamp field batch is -1"},
        {[](TimestampFields& f) { f.token_in_iteration = -3; }, "Timestamp field token_in_iteration is -3"},
        {[](TimestampFields& f) { f.sample_in_epoch = -1; }, "sample_in_epoch"},
        {[](TimestampFields& f) { f.total_wct = -0.5; }, "Timestamp field total_wct is -0.5"},
        {[](TimestampFields& f) { f.epoch_wct = std::nan(""); }, "epoch_wct"},
        {[](TimestampFields& f) { f.batch_wct = HUGE_VAL; }, "batch_wct"},
    };
    for (const auto& row : bad_fields) {  // no structured bindings: CAPTURE is a lambda
      const std::string& fragment = row.second;
      CAPTURE(fragment);
      TimestampFields f;
      row.first(f);
      CHECK(time_error_of([&] { Timestamp ts(f); }).find(fragment) != std::string::npos);
    }
    const Timestamp ts;
    TimestampFields at_max;
    at_max.batch = std::numeric_limits<int64_t>::max();
    const std::vector<std::pair<std::function<void()>, std::string>> bad_advances{
        {[&] { ts.to_next_batch(-1); }, "samples (-1)"},
        {[&] { ts.to_next_batch(1, -2); }, "tokens (-2)"},
        {[&] { ts.to_next_batch(1, 0, -1.0); }, "to_next_batch: duration_s must be finite and >= 0"},
        {[&] { ts.to_next_batch(1, 0, std::nan("")); }, "duration_s must be finite"},
        {[&] { ts.to_next_epoch(HUGE_VAL); }, "to_next_epoch: duration_s"},
        {[&] { ts.to_next_iteration(-1.0); }, "to_next_iteration: duration_s"},
        {[&] { Timestamp(at_max).to_next_batch(1); }, "advancing Timestamp field batch"},
    };
    for (const auto& row : bad_advances) {
      const std::string& fragment = row.second;
      CAPTURE(fragment);
      CHECK(time_error_of(row.first).find(fragment) != std::string::npos);
    }
  }

  TEST_CASE("get(unit) reads the matching counter") {
    const Timestamp ts = sample_timestamp();
    const std::vector<std::pair<TimeUnit, std::string>> rows{
        {TimeUnit::ITERATION, "2iter"}, {TimeUnit::EPOCH, "3ep"},    {TimeUnit::BATCH, "40ba"},
        {TimeUnit::SAMPLE, "1280sp"},   {TimeUnit::TOKEN, "5000tok"}, {TimeUnit::SECOND, "3661sec"},
    };
    for (const auto& row : rows) {
      const std::string& expected = row.second;
      CAPTURE(expected);
      CHECK(tempo::to_string(ts.get(row.first)) == expected);
    }
    CHECK(time_error_of([&] { ts.get(TimeUnit::DURATION); }).find("needs max_duration: use elapsed_fraction") !=
          std::string::npos);
  }

  TEST_CASE("elapsed_fraction divides by max_duration in its own unit") {
    const Timestamp ts = sample_timestamp();
    CHECK(ts.elapsed_fraction(T("10ep")) == 0.3);
    CHECK(ts.elapsed_fraction(T("100ba")) == 0.4);
    CHECK(ts.elapsed_fraction(T("2560sp")) == 0.5);
    CHECK(ts.elapsed_fraction(T("4iter")) == 0.5);
    CHECK(ts.elapsed_fraction(T("3ep")) == 1.0);
    CHECK(time_error_of([&] { ts.elapsed_fraction(T("0.5dur")); }).find("max_duration cannot be in 'dur'") !=
          std::string::npos);
    CHECK(time_error_of([&] { ts.elapsed_fraction(T("1h")); }).find("max_duration cannot be in 'sec'") !=
          std::string::npos);
    CHECK(time_error_of([&] { ts.elapsed_fraction(T("0ep")); }).find("max_duration must be positive (got 0ep)") !=
          std::string::npos);
  }

  TEST_CASE("Timestamp compared with a Time uses the Time's unit") {
    const Timestamp ts = sample_timestamp();
    const std::vector<std::pair<const char*, int>> rows{
        {"40ba", 0},  {"39ba", 1},       {"41ba", -1},    {"3ep", 0},        {"4ep", -1},
        {"3", 0},     {"1280sp", 0},     {"5000tok", 0},  {"1e4tok", -1},    {"2iter", 0},
        {"1h1m1s", 0}, {"3661sec", 0},   {"1h", 1},       {"2h", -1},
    };
    for (const auto& row : rows) {
      const char* s = row.first;
      const int expected = row.second;
      CAPTURE(s);
      Time t = T(s);
      CHECK(tempo::compare(ts, t) == expected);
      CHECK((ts == t) == (expected == 0));
      CHECK((ts != t) == (expected != 0));
      CHECK((ts < t) == (expected < 0));
      CHECK((ts <= t) == (expected <= 0));
      CHECK((ts > t) == (expected > 0));
      CHECK((ts >= t) == (expected >= 0));
    }
    const Time half = T("0.5dur");
    for (const auto& op : std::vector<std::function<void()>>{
             [&] { (void)(ts == half); }, [&] { (void)(ts != half); }, [&] { (void)(ts < half); },
             [&] { (void)(ts <= half); }, [&] { (void)(ts > half); }, [&] { (void)(ts >= half); }}) {
      std::string msg = time_error_of(op);
      CHECK(msg.find("cannot compare a Timestamp with 0.5dur without knowing max_duration") != std::string::npos);
      CHECK(msg.find("reached(timestamp, time, max_duration)") != std::string::npos);
    }
  }

  TEST_CASE("compare and reached with a max_duration handle dur") {
    const Timestamp ts = sample_timestamp();  // epoch 3, batch 40
    struct Row {
      const char* t;
      const char* max;
      int expected;
    };
    const std::vector<Row> rows{
        {"0.3dur", "10ep", 0},   {"0.25dur", "10ep", 1},  {"0.5dur", "10ep", -1},
        {"1dur", "3ep", 0},      {"0dur", "10ep", 1},     {"0.4dur", "100ba", 0},
        {"0.5dur", "100ba", -1}, {"0.39dur", "100ba", 1}, {"1dur", "40ba", 0},
        {"40ba", "10ep", 0},     {"41ba", "10ep", -1},    {"3ep", "0.5dur", 0},
    };
    for (const Row& r : rows) {
      CAPTURE(r.t);
      CAPTURE(r.max);
      CHECK(tempo::compare(ts, T(r.t), T(r.max)) == r.expected);
      CHECK(tempo::reached(ts, T(r.t), T(r.max)) == (r.expected >= 0));
    }
    CHECK(tempo::reached(Timestamp().to_next_batch(1), T("0.01dur"), T("100ba")));
    CHECK_FALSE(tempo::reached(Timestamp(), T("0.01dur"), T("100ba")));
    CHECK(time_error_of([&] { tempo::compare(ts, T("0.5dur"), T("0.5dur")); }).find("'dur'") != std::string::npos);
    CHECK(time_error_of([&] { tempo::reached(ts, T("0.5dur"), T("1h")); }).find("'sec'") != std::string::npos);
  }

  TEST_CASE("Timestamp equality looks at every field") {
    const Timestamp base = sample_timestamp();
    CHECK(base == sample_timestamp());
    const std::vector<std::function<void(TimestampFields&)>> edits{
        [](TimestampFields& f) { f.iteration++; },          [](TimestampFields& f) { f.epoch++; },
        [](TimestampFields& f) { f.batch++; },              [](TimestampFields& f) { f.sample++; },
        [](TimestampFields& f) { f.token++; },              [](TimestampFields& f) { f.epoch_in_iteration++; },
        [](TimestampFields& f) { f.token_in_iteration++; }, [](TimestampFields& f) { f.batch_in_epoch++; },
        [](TimestampFields& f) { f.sample_in_epoch++; },    [](TimestampFields& f) { f.token_in_epoch++; },
        [](TimestampFields& f) { f.total_wct += 1e-9; },    [](TimestampFields& f) { f.iteration_wct += 1; },
        [](TimestampFields& f) { f.epoch_wct += 1; },       [](TimestampFields& f) { f.batch_wct += 1; },
    };
    for (size_t i = 0; i < edits.size(); ++i) {
      CAPTURE(i);
      TimestampFields f = base.fields();
      edits[i](f);
      CHECK(Timestamp(f) != base);
      CHECK_FALSE(Timestamp(f) == base);
    }
  }

  TEST_CASE("to_string(Timestamp) is a readable one-liner") {
    std::string s = tempo::to_string(sample_timestamp());
    CHECK(s.find('\n') == std::string::npos);
    for (const char* part : {"Timestamp(iteration=2, epoch=3, batch=40, sample=1280, token=5000",
                             "batch_in_epoch=4", "token_in_iteration=700", "total_wct=3661.9s",
                             "batch_wct=0.30000000000000004s)"}) {
      CHECK(s.find(part) != std::string::npos);
    }
    std::ostringstream os;
    os << sample_timestamp();
    CHECK(os.str() == s);
    CHECK(fmt::format("{}", sample_timestamp()) == s);
  }

  TEST_CASE("Timestamp and Time round-trip through cereal JSON and binary archives") {
    const Timestamp ts = sample_timestamp();
    const std::vector<Time> times{T("10ep"), T("1e6tok"), T("1h30m"), T("0.1dur"),
                                  Time::from_token(std::numeric_limits<int64_t>::max()),
                                  Time::from_duration(1.0 / 3.0)};
    std::stringstream json;
    {
      cereal::JSONOutputArchive out(json);
      out(cereal::make_nvp("timestamp", ts), cereal::make_nvp("times", times));
    }
    const std::string text = json.str();
    CHECK(text.find("\"batch_in_epoch\": 4") != std::string::npos);
    CHECK(text.find("\"total_wct\": 3661.9") != std::string::npos);
    CHECK(text.find("\"unit\": \"tok\"") != std::string::npos);
    CHECK(text.find("\"value\": 1000000") != std::string::npos);
    {
      Timestamp back;
      std::vector<Time> times_back;
      cereal::JSONInputArchive in(json);
      in(cereal::make_nvp("timestamp", back), cereal::make_nvp("times", times_back));
      CHECK(back == ts);
      REQUIRE(times_back.size() == times.size());
      for (size_t i = 0; i < times.size(); ++i) {
        CHECK(times_back[i].unit() == times[i].unit());
        CHECK(times_back[i] == times[i]);
      }
    }

    std::stringstream bin;
    {
      cereal::BinaryOutputArchive out(bin);
      out(ts, times);
    }
    Timestamp back;
    std::vector<Time> times_back;
    {
      cereal::BinaryInputArchive in(bin);
      in(back, times_back);
    }
    CHECK(back == ts);
    REQUIRE(times_back.size() == times.size());
    for (size_t i = 0; i < times.size(); ++i) {
      CHECK(times_back[i].unit() == times[i].unit());
      CHECK(times_back[i] == times[i]);
    }
  }

  TEST_CASE("loading a damaged archive throws TimeError") {
    std::stringstream bad_unit(R"({"t": {"unit": "epochs", "value": 3}})");
    Time t;
    CHECK(time_error_of([&] {
            cereal::JSONInputArchive in(bad_unit);
            in(cereal::make_nvp("t", t));
          }).find("invalid time unit \"epochs\"") != std::string::npos);

    TimestampFields f = sample_timestamp().fields();
    f.batch = -5;
    std::stringstream json;
    {
      cereal::JSONOutputArchive out(json);
      out(cereal::make_nvp("fields", f));  // fields bypass the Timestamp's checks on the way out
    }
    std::string text = json.str();
    text.replace(text.find("\"fields\""), 8, "\"ts\"");
    std::stringstream damaged(text);
    Timestamp ts;
    CHECK(time_error_of([&] {
            cereal::JSONInputArchive in(damaged);
            in(cereal::make_nvp("ts", ts));
          }).find("Timestamp field batch is -5") != std::string::npos);
  }
}
