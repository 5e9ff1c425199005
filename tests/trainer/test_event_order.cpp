#include <doctest/doctest.h>

#include <algorithm>

#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

using Names = std::vector<std::string>;

void append(Names& out, const Names& more) { out.insert(out.end(), more.begin(), more.end()); }

Names train_batch() {
  return {"before_dataloader", "after_dataloader", "batch_start",    "before_train_batch", "before_forward",
          "after_forward",     "before_loss",      "after_loss",     "before_backward",    "after_backward",
          "after_train_batch", "batch_end"};
}

Names evaluation(int batches) {
  Names out = {"eval_before_all", "eval_start"};
  for (int i = 0; i < batches; ++i) {
    append(out, {"eval_batch_start", "eval_before_forward", "eval_after_forward", "eval_batch_end"});
  }
  append(out, {"eval_end", "eval_after_all"});
  return out;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("a 2-epoch run with evaluation fires Composer's events in Composer's order") {
    auto recorder = std::make_shared<EventRecorder>();
    torch::manual_seed(0);
    auto model = std::make_shared<TinyNet>();
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    Trainer trainer(TrainerOptions()
                        .model(model)
                        .train_dataloader(loader(blobs(10), 4))   // 3 batches: 4, 4, 2
                        .eval_dataloader(loader(blobs(4, 8, 9), 2, false))  // 2 batches
                        .optimizers({optimizer})
                        .callbacks({recorder})
                        .max_duration("2ep")
                        .seed(1));
    trainer.fit();

    Names expected = {"init", "before_load", "after_load", "fit_start", "iteration_start"};
    for (int epoch = 0; epoch < 2; ++epoch) {
      expected.push_back("epoch_start");
      for (int batch = 0; batch < 3; ++batch) {
        append(expected, train_batch());
        expected.push_back("batch_checkpoint");
      }
      expected.push_back("before_dataloader");  // the call that finds the loader exhausted
      expected.push_back("epoch_end");
      append(expected, evaluation(2));
      expected.push_back("epoch_checkpoint");
    }
    expected.push_back("fit_end");  // already evaluated at the final batch: no second evaluation
    CHECK(recorder->events == expected);
    CHECK(trainer.state().timestamp.epoch() == 2);
    CHECK(trainer.state().timestamp.batch() == 6);
    CHECK(trainer.state().timestamp.sample() == 20);
    CHECK(trainer.state().eval_metrics.at("eval").count("Accuracy") == 1);
  }

  TEST_CASE("batch-interval evaluation runs between BATCH_END and BATCH_CHECKPOINT; a mid-epoch end has no EPOCH_END") {
    auto recorder = std::make_shared<EventRecorder>();
    torch::manual_seed(0);
    auto model = std::make_shared<TinyNet>();
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    Trainer trainer(TrainerOptions()
                        .model(model)
                        .train_dataloader(loader(blobs(10), 4))
                        .eval_dataloader(loader(blobs(4, 8, 9), 4, false))  // 1 batch
                        .eval_interval("2ba")
                        .optimizers({optimizer})
                        .callbacks({recorder})
                        .max_duration("5ba")
                        .seed(1));
    trainer.fit();

    Names expected = {"init", "before_load", "after_load", "fit_start", "iteration_start", "epoch_start"};
    for (int batch = 1; batch <= 5; ++batch) {
      if (batch == 4) expected.push_back("epoch_start");
      append(expected, train_batch());
      if (batch % 2 == 0) append(expected, evaluation(1));
      expected.push_back("batch_checkpoint");
      if (batch == 3) append(expected, {"before_dataloader", "epoch_end", "epoch_checkpoint"});
    }
    expected.push_back("fit_end");
    append(expected, evaluation(1));  // the final batch (5) was not evaluated yet
    CHECK(recorder->events == expected);
    CHECK(std::count(recorder->events.begin(), recorder->events.end(), "epoch_end") == 1);
    CHECK(trainer.state().timestamp.batch_in_epoch() == 2);
  }

  TEST_CASE("a stop request ends fit at the batch boundary, without EPOCH_END, still running FIT_END") {
    class StopAtThree : public Callback {
     protected:
      void on_batch_end(State& state, Logger&) override {
        if (state.timestamp.batch() == 3) state.request_stop("enough");
      }
    };
    auto recorder = std::make_shared<EventRecorder>();
    auto run = make_run(blobs(40), "10ep", 42, 7, {std::make_shared<StopAtThree>(), recorder});
    run.trainer->fit();
    const auto& state = run.trainer->state();
    CHECK(state.timestamp.batch() == 3);
    CHECK(state.stop_requested());
    CHECK(state.stop_reason() == "enough");
    CHECK(std::count(recorder->events.begin(), recorder->events.end(), "epoch_end") == 0);
    CHECK(recorder->events.back() == "fit_end");
    CHECK(recorder->events[recorder->events.size() - 2] == "batch_checkpoint");

    // A new fit() is a new request to train: it goes on from batch 3.
    run.trainer->fit(Time::parse("2ba"));
    CHECK(run.trainer->state().timestamp.batch() == 5);
    CHECK_FALSE(run.trainer->state().stop_requested());
  }
}
