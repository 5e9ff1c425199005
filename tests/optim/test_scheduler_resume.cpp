// Composer's schedulers inside a Trainer: the lr each batch trains with follows Composer's order
// (batch 0: alpha(0); batch k: alpha(k - 1), since the scheduler is stepped before the
// timestamp moves on), and a run resumed mid-warm-up or mid-cosine trains every batch with the
// uninterrupted run's lr and ends with its weights, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "tempo/optim/schedulers.h"
#include "optim/scheduler_test_support.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/tree.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::shared_ptr<CosineAnnealingWithWarmupScheduler> warmup_cosine() {
  return std::make_shared<CosineAnnealingWithWarmupScheduler>(CosineAnnealingWithWarmupSchedulerOptions("8ba").alpha_f(0.1));
}

// alpha of warmup_cosine() at batch t of a 30-batch run.
double expected_alpha(int64_t t) {
  if (t < 8) return t / 8.0;
  return 0.1 + 0.9 * 0.5 * (1 + std::cos(kPi * (t - 8) / 22.0));
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("the lr per batch follows Composer's order: alpha(0) for batch 0, alpha(k - 1) for batch k") {
    auto recorder = std::make_shared<LrRecorder>();
    auto scheduler = warmup_cosine();
    auto run = make_run(blobs(40), "3ep", 42, 7, {recorder}, 4,
                        [&](TrainerOptions& o) { o.schedulers({scheduler}); });
    // Set when the trainer is built, as LambdaLR does: alpha(0) = 0.
    CHECK(run.optimizer->param_groups()[0].options().get_lr() == 0.0);
    CHECK(scheduler->base_lrs() == std::vector<double>{1e-2});
    run.trainer->fit();
    REQUIRE(recorder->lrs.size() == 30);
    for (const auto& [batch, lr] : recorder->lrs) {
      CAPTURE(batch);
      CHECK(lr == doctest::Approx(1e-2 * expected_alpha(std::max<int64_t>(batch - 1, 0))).epsilon(1e-13));
    }
    CHECK(scheduler->last_epoch() == 30);
  }

  TEST_CASE("a run resumed mid-warm-up or mid-cosine trains every batch with the uninterrupted run's lr") {
    auto data = blobs(40);  // 10 batches of 4 per epoch, 30 in all
    TempDir dir;
    auto full_lrs = std::make_shared<LrRecorder>();
    auto full = make_run(data, "3ep", 42, 7, {full_lrs}, 4, [&](TrainerOptions& o) {
      o.schedulers({warmup_cosine()}).save_folder(dir.path()).save_interval("5ba");
    });
    full.trainer->fit();
    REQUIRE(full_lrs->lrs.size() == 30);

    const auto saved = read_checkpoint(dir / "ep0-ba5-rank0.pt");
    // Composer's anatomy: LambdaLR's state_dict under state/schedulers/LambdaLR.
    const auto schedulers = saved.toGenericDict().at("state").toGenericDict().at("schedulers").toGenericDict();
    REQUIRE(tree_has(schedulers, "LambdaLR"));
    const auto lambda_lr = schedulers.at("LambdaLR").toGenericDict();
    CHECK(tree_int(lambda_lr, "last_epoch", "") == 5);
    CHECK(tree_int(lambda_lr, "_step_count", "") == 6);
    CHECK(lambda_lr.at("base_lrs").toListRef().at(0).toDouble() == 1e-2);

    for (const std::string file : {"ep0-ba5-rank0.pt", "ep1-ba15-rank0.pt"}) {
      for (const bool drop_scheduler_state : {false, true}) {
        CAPTURE(file);
        CAPTURE(drop_scheduler_state);
        auto lrs = std::make_shared<LrRecorder>();
        auto scheduler = warmup_cosine();
        // Another seed and other initial weights: all must come from the checkpoint.
        auto resumed = make_run(data, "3ep", 5, 99, {lrs}, 4, [&](TrainerOptions& o) {
          o.schedulers({scheduler}).load_path(dir / file);
          // Without state/schedulers the base lrs are the configured ones, taken before loading.
          if (drop_scheduler_state) o.load_ignore_keys({"state/schedulers"});
        });
        const int64_t start = resumed.trainer->state().timestamp.batch();
        CHECK(start == (file == "ep0-ba5-rank0.pt" ? 5 : 15));
        // The optimizer holds the decayed lr from the checkpoint; the base stays the configured one.
        CHECK(resumed.optimizer->param_groups()[0].options().get_lr() == full_lrs->lrs.at(start));
        CHECK(scheduler->base_lrs() == std::vector<double>{1e-2});
        CHECK(scheduler->last_epoch() == (drop_scheduler_state ? 0 : start));
        resumed.trainer->fit();
        REQUIRE(lrs->lrs.size() == static_cast<size_t>(30 - start));
        for (const auto& [batch, lr] : lrs->lrs) {
          CAPTURE(batch);
          CHECK(lr == full_lrs->lrs.at(batch));  // exactly
        }
        CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
      }
    }
  }

  TEST_CASE("scale_schedule_ratio stretches max_duration and the schedule, and the run resumes exactly") {
    auto data = blobs(40);
    TempDir dir;
    auto make = [&](std::shared_ptr<LrRecorder> recorder, const std::string& load_path) {
      return make_run(data, "4ep", 42, 7, {recorder}, 4, [&](TrainerOptions& o) {
        o.schedulers({std::make_shared<LinearWithWarmupScheduler>(
                          LinearWithWarmupSchedulerOptions("4ba").alpha_f(0.0).t_max("40ba"))})
            .scale_schedule_ratio(0.5)
            .save_folder(dir.path())
            .save_interval("7ba")
            .save_overwrite(true)
            .load_path(load_path);
      });
    };
    auto full_lrs = std::make_shared<LrRecorder>();
    auto full = make(full_lrs, "");
    CHECK(*full.trainer->state().max_duration == Time(2, TimeUnit::EPOCH));
    full.trainer->fit();
    REQUIRE(full_lrs->lrs.size() == 20);
    // t_warmup stays 4 batches, t_max becomes 20.
    for (const auto& [batch, lr] : full_lrs->lrs) {
      CAPTURE(batch);
      const int64_t t = std::max<int64_t>(batch - 1, 0);
      const double alpha = t < 4 ? t / 4.0 : 1.0 - (t - 4) / 16.0;
      CHECK(lr == doctest::Approx(1e-2 * alpha).epsilon(1e-13));
    }
    auto resumed_lrs = std::make_shared<LrRecorder>();
    auto resumed = make(resumed_lrs, dir / "ep1-ba14-rank0.pt");
    resumed.trainer->fit();
    REQUIRE(resumed_lrs->lrs.size() == 6);
    for (const auto& [batch, lr] : resumed_lrs->lrs) CHECK(lr == full_lrs->lrs.at(batch));
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
  }

  TEST_CASE("scale_schedule_ratio without schedulers, or that empties max_duration, is refused") {
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "2ep", [](TrainerOptions& o) { o.scale_schedule_ratio(0.5); }),
                         "scale_schedule_ratio 0.5 has no effect without schedulers", ConfigError);
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "1ep", [](TrainerOptions& o) {
                           o.schedulers({std::make_shared<ConstantScheduler>()}).scale_schedule_ratio(0.5);
                         }),
                         "scale_schedule_ratio 0.5 reduces max_duration 1ep to 0; raise the ratio or max_duration",
                         ConfigError);
    CHECK_THROWS_WITH_AS(make_run(blobs(40), "1ep", [](TrainerOptions& o) {
                           o.schedulers({std::make_shared<ConstantScheduler>()}).scale_schedule_ratio(-1);
                         }),
                         "scale_schedule_ratio must be > 0, got -1", ConfigError);
  }

  TEST_CASE("two Composer schedulers share the configured base lr and the last one sets the lr, as LambdaLRs do") {
    auto first = std::make_shared<ConstantScheduler>(ConstantSchedulerOptions().alpha(0.5));
    auto second = std::make_shared<LinearScheduler>();
    auto run = make_run(blobs(40), "1ep", [&](TrainerOptions& o) { o.schedulers({first, second}); });
    CHECK(first->base_lrs() == std::vector<double>{1e-2});
    CHECK(second->base_lrs() == std::vector<double>{1e-2});
    CHECK(run.trainer->state_dict().toGenericDict().at("state").toGenericDict().at("schedulers").toGenericDict().contains(
        "LambdaLR_1"));
  }
}
