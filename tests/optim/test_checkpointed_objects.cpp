// LibTorch's own schedulers and any Stateful object survive a checkpoint, as Accelerate's
// register_for_checkpointing promises: a resumed run continues with the same step count, lr and
// object state as the uninterrupted one.
#include <doctest/doctest.h>

#include <torch/optim/schedulers/step_lr.h>

#include <map>

#include "tempo/optim/torch_scheduler.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/tree.h"
#include "optim/scheduler_test_support.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// A user's object with state of its own: a running sum of the losses seen.
class LossTotal : public Stateful {
 public:
  double total = 0;
  int64_t batches = 0;
  c10::IValue state_dict() const override {
    auto dict = new_tree_dict();
    dict.insert("total", total);
    dict.insert("batches", batches);
    return dict;
  }
  void load_state_dict(const c10::IValue& state) override {
    auto dict = tree_dict(state, "state/callbacks/loss_total");
    total = tree_double(dict, "total", "state/callbacks/loss_total");
    batches = tree_int(dict, "batches", "state/callbacks/loss_total");
  }
};

// Feeds a LossTotal; keeps no state itself.
class AddLoss : public Callback {
 public:
  explicit AddLoss(std::shared_ptr<LossTotal> total) : total_(std::move(total)) {}

 protected:
  void on_batch_end(State& state, Logger&) override {
    total_->total += state.loss.item<double>();
    ++total_->batches;
  }

 private:
  std::shared_ptr<LossTotal> total_;
};

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("a LibTorch StepLR steps per epoch (Composer's default) or per batch and resumes exactly") {
    for (const bool every_batch : {false, true}) {
      CAPTURE(every_batch);
      auto data = blobs(40);  // 10 batches per epoch
      TempDir dir;
      auto make = [&](std::shared_ptr<LrRecorder> recorder, const std::string& load_path,
                      std::shared_ptr<TorchScheduler>* out) {
        return make_run(data, "4ep", 42, 7, {recorder}, 4, [&](TrainerOptions& o) {
          auto step_lr = std::make_shared<torch::optim::StepLR>(*o.optimizers()[0], /*step_size=*/every_batch ? 7 : 2,
                                                                /*gamma=*/0.5);
          *out = std::make_shared<TorchScheduler>(step_lr, TorchSchedulerOptions().step_every_batch(every_batch));
          o.schedulers({*out}).save_folder(dir.path()).save_interval("15ba").save_overwrite(true).load_path(load_path);
        });
      };
      std::shared_ptr<TorchScheduler> full_scheduler;
      auto full_lrs = std::make_shared<LrRecorder>();
      auto full = make(full_lrs, "", &full_scheduler);
      CHECK(full_scheduler->name() == "StepLR");
      full.trainer->fit();
      REQUIRE(full_lrs->lrs.size() == 40);
      for (const auto& [batch, lr] : full_lrs->lrs) {
        CAPTURE(batch);
        // LibTorch's StepLR multiplies by gamma on the steps numbered step_size, 2 step_size, ...
        const int64_t steps = every_batch ? batch : batch / 10;
        const int64_t decays = every_batch ? (steps - 1 < 0 ? 0 : (steps - 1) / 7) : (steps - 1 < 0 ? 0 : (steps - 1) / 2);
        CHECK(lr == doctest::Approx(1e-2 * std::pow(0.5, decays)).epsilon(1e-14));
      }
      CHECK(full_scheduler->step_count() == (every_batch ? 40u : 4u));

      const auto saved = read_checkpoint(dir / "ep1-ba15-rank0.pt");
      const auto step_lr_tree =
          saved.toGenericDict().at("state").toGenericDict().at("schedulers").toGenericDict().at("StepLR").toGenericDict();
      CHECK(tree_int(step_lr_tree, "last_epoch", "") == (every_batch ? 15 : 1));

      std::shared_ptr<TorchScheduler> resumed_scheduler;
      auto resumed_lrs = std::make_shared<LrRecorder>();
      auto resumed = make(resumed_lrs, dir / "ep1-ba15-rank0.pt", &resumed_scheduler);
      CHECK(resumed_scheduler->step_count() == (every_batch ? 15u : 1u));
      resumed.trainer->fit();
      REQUIRE(resumed_lrs->lrs.size() == 25);
      for (const auto& [batch, lr] : resumed_lrs->lrs) CHECK(lr == full_lrs->lrs.at(batch));
      CHECK(resumed_scheduler->step_count() == full_scheduler->step_count());
      CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
    }
  }

  TEST_CASE("a LibTorch scheduler cannot be scaled by scale_schedule_ratio") {
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "2ep", [](TrainerOptions& o) {
                           o.schedulers({std::make_shared<TorchScheduler>(
                                std::make_shared<torch::optim::StepLR>(*o.optimizers()[0], 2))})
                               .scale_schedule_ratio(2.0);
                         }),
                         doctest::Contains("scheduler 'StepLR' does not support scale_schedule_ratio"), ConfigError);
  }

  TEST_CASE("an object registered for checkpointing is saved under state/callbacks/<name> and restored") {
    auto data = blobs(40);
    TempDir dir;
    auto make = [&](std::shared_ptr<LossTotal> total, const std::string& load_path) {
      return make_run(data, "3ep", 42, 7, {std::make_shared<AddLoss>(total)}, 4, [&](TrainerOptions& o) {
        o.register_for_checkpointing("loss_total", total)
            .save_folder(dir.path())
            .save_interval("12ba")
            .save_overwrite(true)
            .load_path(load_path);
      });
    };
    auto full_total = std::make_shared<LossTotal>();
    auto full = make(full_total, "");
    full.trainer->fit();
    CHECK(full_total->batches == 30);

    const auto saved = read_checkpoint(dir / "ep1-ba12-rank0.pt");
    const auto callbacks = saved.toGenericDict().at("state").toGenericDict().at("callbacks").toGenericDict();
    REQUIRE(tree_has(callbacks, "loss_total"));
    CHECK(tree_int(callbacks.at("loss_total").toGenericDict(), "batches", "") == 12);

    auto resumed_total = std::make_shared<LossTotal>();
    auto resumed = make(resumed_total, dir / "ep1-ba12-rank0.pt");
    CHECK(resumed_total->batches == 12);
    resumed.trainer->fit();
    CHECK(resumed_total->batches == 30);
    CHECK(resumed_total->total == full_total->total);
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
  }

  TEST_CASE("register_for_checkpointing refuses a taken name and a null object") {
    auto total = std::make_shared<LossTotal>();
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "1ep", [&](TrainerOptions& o) {
                           o.register_for_checkpointing("x", total).register_for_checkpointing("x", total);
                         }),
                         "register_for_checkpointing('x'): the name is taken (by a callback, logger or an earlier "
                         "registration); pick another",
                         ConfigError);
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "1ep", [&](TrainerOptions& o) { o.register_for_checkpointing("y", nullptr); }),
                         "register_for_checkpointing('y'): the object is null", ConfigError);
  }
}
