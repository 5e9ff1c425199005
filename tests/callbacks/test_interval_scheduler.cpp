#include <doctest/doctest.h>

#include "tempo/callbacks/interval.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Walks a State through `epochs` epochs of `batches` batches (of `batch_size` samples) and
// returns the batch counts at which `predicate` fired, with the event ("ba@3", "ep@6").
std::vector<std::string> fire_points(IntervalPredicate predicate, const std::string& max_duration, int epochs,
                                     int batches, int64_t batch_size = 4) {
  State state;
  state.train_dataloader = loader(blobs(batches * batch_size), batch_size);
  state.max_duration = Time::parse(max_duration);
  std::vector<std::string> fired;
  for (int e = 0; e < epochs && !state.training_complete(); ++e) {
    for (int b = 0; b < batches && !state.training_complete(); ++b) {
      state.previous_timestamp = state.timestamp;
      state.timestamp = state.timestamp.to_next_batch(batch_size);
      if (predicate(state, Event::BATCH_CHECKPOINT)) fired.push_back("ba@" + std::to_string(state.timestamp.batch()));
    }
    if (state.timestamp.batch_in_epoch() == batches) {
      state.previous_timestamp = state.timestamp;
      state.timestamp = state.timestamp.to_next_epoch();
      if (predicate(state, Event::EPOCH_CHECKPOINT)) fired.push_back("ep@" + std::to_string(state.timestamp.batch()));
    }
  }
  return fired;
}

using Points = std::vector<std::string>;

IntervalPredicate checkpoint_schedule(const Interval& interval) {
  return interval.make_scheduler(true, true, {Event::BATCH_CHECKPOINT, Event::EPOCH_CHECKPOINT});
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("interval schedules fire where Composer's do") {
    struct Row {
      Interval interval;
      std::string max_duration;
      Points expected;
    };
    const std::vector<Row> rows = {
        {"1ep", "3ep", {"ep@3", "ep@6", "ep@9"}},
        {1, "3ep", {"ep@3", "ep@6", "ep@9"}},  // a bare integer means epochs
        {"2ep", "3ep", {"ep@6", "ep@9"}},      // and the end of training, once
        {"2ba", "3ep", {"ba@2", "ba@4", "ba@6", "ba@8", "ep@9"}},  // the end is an epoch end
        {"4ba", "2ep", {"ba@4", "ep@6"}},
        {"8sp", "2ep", {"ba@2", "ba@4", "ba@6"}},   // 4 samples a batch
        {"0.5dur", "2ep", {"ba@3", "ba@6"}},        // half of 6 batches
        {"1ep", "5ba", {"ep@3", "ba@5"}},           // ends mid-epoch: saved at its last batch
    };
    for (const auto& row : rows) {
      CAPTURE(row.max_duration);
      CHECK(fire_points(checkpoint_schedule(row.interval), row.max_duration, 3, 3) == row.expected);
    }
  }

  TEST_CASE("a crossing, not a modulo test: uneven sample counts still fire") {
    // Batches of 3 samples with an 8-sample interval: 3, 6, 9 (crossed 8), 12, 15, 18 (crossed 16).
    CHECK(fire_points(checkpoint_schedule(Interval("8sp")), "6ba", 1, 6, 3) == Points{"ba@3", "ba@6"});
  }

  TEST_CASE("without end-of-training, only the interval fires") {
    auto predicate = Interval("2ep").make_scheduler(false, true, {});
    CHECK(fire_points(predicate, "3ep", 3, 3) == Points{"ep@6"});
  }

  TEST_CASE("a predicate is used as it is") {
    auto predicate = Interval(IntervalPredicate([](const State& s, Event e) {
      return e == Event::EPOCH_CHECKPOINT && s.timestamp.epoch() >= 2;
    }));
    CHECK(fire_points(predicate.make_scheduler(true, true, {}), "3ep", 3, 3) == Points{"ep@6", "ep@9"});
  }

  TEST_CASE("callback hooks are dispatched per event, after on_event") {
    struct Hooks : Callback {
      std::vector<std::string> calls;
      void on_event(Event e, State&, Logger&) override { calls.push_back("any:" + to_string(e)); }
      void on_fit_start(State&, Logger&) override { calls.push_back("fit_start"); }
      void on_eval_after_all(State&, Logger&) override { calls.push_back("eval_after_all"); }
      void on_predict_end(State&, Logger&) override { calls.push_back("predict_end"); }
    } hooks;
    State state;
    Logger logger;
    for (auto event : {Event::FIT_START, Event::BATCH_END, Event::EVAL_AFTER_ALL, Event::PREDICT_END}) {
      hooks.run_event(event, state, logger);
    }
    CHECK(hooks.calls == std::vector<std::string>{"any:fit_start", "fit_start", "any:batch_end", "any:eval_after_all",
                                                  "eval_after_all", "any:predict_end", "predict_end"});
  }

  TEST_CASE("event names are Composer's, in Composer's order, and parse back") {
    CHECK(kNumEvents == 40);
    CHECK(to_string(Event::INIT) == "init");
    CHECK(to_string(Event::BATCH_CHECKPOINT) == "batch_checkpoint");
    CHECK(to_string(Event::EVAL_STANDALONE_START) == "eval_standalone_start");
    CHECK(to_string(Event::PREDICT_END) == "predict_end");
    for (auto event : all_events()) CHECK(parse_event(to_string(event)) == event);
    CHECK(static_cast<int>(Event::AFTER_TRAIN_BATCH) < static_cast<int>(Event::BATCH_END));
    CHECK(static_cast<int>(Event::BATCH_END) < static_cast<int>(Event::BATCH_CHECKPOINT));
    CHECK_THROWS_WITH_AS(parse_event("batch_ends"), doctest::Contains("unknown event 'batch_ends'"), ConfigError);
  }
}
