// The monitors and stoppers (Composer's callbacks): LRMonitor, SpeedMonitor, MemoryMonitor,
// NaNMonitor, EarlyStopper, ThresholdStopper, and CheckpointSaver's best checkpoint.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/early_stopper.h"
#include "tempo/callbacks/logger.h"
#include "tempo/callbacks/lr_monitor.h"
#include "tempo/callbacks/memory_monitor.h"
#include "tempo/callbacks/metric_monitor.h"
#include "tempo/callbacks/nan_monitor.h"
#include "tempo/callbacks/speed_monitor.h"
#include "tempo/callbacks/threshold_stopper.h"
#include "tempo/errors/error.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

class Recording : public LoggerDestination {
 public:
  std::vector<std::pair<int64_t, Metrics>> records;
  void log_metrics(const Metrics& m, int64_t step) override { records.emplace_back(step, m); }
  void log_hyperparameters(const Hyperparameters&) override {}
  // Every value logged under `key`, by step.
  std::map<int64_t, double> values(const std::string& key) const {
    std::map<int64_t, double> out;
    for (const auto& [step, m] : records) {
      if (auto it = m.find(key); it != m.end()) out[step] = it->second;
    }
    return out;
  }
};

// A metric whose value the test sets.
class ScriptedMetric : public Metric {
 public:
  double value = std::nan("");
  std::string name() const override { return "Accuracy"; }
  std::shared_ptr<Metric> clone() const override { return std::make_shared<ScriptedMetric>(*this); }
  double compute() const override { return value; }

 protected:
  void update_state(const at::Tensor&, const Batch&) override {}
  void reset_state() override {}
  void save_state(Dict&) const override {}
  void load_state(const Dict&, const std::string&) override {}
};

// Registered before the callbacks under test: at each EVAL_START of "eval" it puts a scripted
// Accuracy whose value is script(batch) in place of the real one.
class ScriptEvalAccuracy : public Callback {
 public:
  explicit ScriptEvalAccuracy(std::function<double(int64_t)> script) : script_(std::move(script)) {}

 protected:
  void on_eval_start(State& state, Logger&) override {
    if (state.dataloader_label != "eval") return;
    auto metric = std::make_shared<ScriptedMetric>();
    metric->value = script_(state.timestamp.batch());
    state.eval_metrics["eval"]["Accuracy"] = metric;
  }

 private:
  std::function<double(int64_t)> script_;
};

// Rises to 4 at batch 4, then stays there.
double plateau(int64_t batch) { return static_cast<double>(std::min<int64_t>(batch, 4)); }

std::function<void(TrainerOptions&)> eval_every_batch(std::function<void(TrainerOptions&)> more = {}) {
  return [more](TrainerOptions& o) {
    o.eval_dataloader(loader(blobs(8, 8, 9), 4)).eval_interval(Time(1, TimeUnit::BATCH));
    if (more) more(o);
  };
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("MetricMonitor picks Composer's comparator by name and names a missing metric") {
    CHECK(MetricMonitor("Accuracy", "eval", "", "t").greater());
    CHECK_FALSE(MetricMonitor("CrossEntropy", "eval", "less", "t").greater());
    CHECK_FALSE(MetricMonitor("val_loss", "eval", "", "t").greater());
    CHECK(MetricMonitor("val_loss", "eval", "gt", "t").greater());
    CHECK_THROWS_AS(MetricMonitor("Accuracy", "eval", "bigger", "t"), ConfigError);
    CHECK_THROWS_AS(EarlyStopper("Accuracy", "eval", "", 0, Time(3, TimeUnit::SAMPLE)), ConfigError);
    State state;
    try {
      MetricMonitor("Accuracy", "val", "", "t").value(state);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()).find("no evaluator labelled 'val'") != std::string::npos);
    }
  }

  TEST_CASE("EarlyStopper stops once the metric has not improved for patience batches") {
    auto stopper = std::make_shared<EarlyStopper>("Accuracy", "eval", "greater", 0.0, Time(3, TimeUnit::BATCH));
    auto run = make_run(blobs(80), "20ba", 42, 7, {std::make_shared<ScriptEvalAccuracy>(plateau), stopper}, 4,
                        eval_every_batch());
    run.trainer->fit();
    // Best (4) at batch 4; 8 - 4 > 3 first holds at batch 8.
    CHECK(run.trainer->state().timestamp.batch() == 8);
    CHECK(stopper->best() == 4.0);
    CHECK(stopper->best_batch() == 4);
    CHECK(run.trainer->state().stop_reason().find("EarlyStopper") != std::string::npos);
  }

  TEST_CASE("two EarlyStoppers keep separate state, and a resume mid-patience stops at the same batch") {
    // Rises by 1 to batch 4, then by 0.1 a batch: `eager` (min_delta 0) keeps finding a new best,
    // `strict` (min_delta 0.5) saw its last at batch 4 and stops the run at batch 8.
    auto script = [](int64_t b) { return b <= 4 ? static_cast<double>(b) : 4.0 + 0.1 * static_cast<double>(b - 4); };
    auto make = [&](std::vector<std::shared_ptr<EarlyStopper>>& stoppers,
                    std::function<void(TrainerOptions&)> more) {
      stoppers = {std::make_shared<EarlyStopper>("Accuracy", "eval", "", 0.0, Time(100, TimeUnit::BATCH)),
                  std::make_shared<EarlyStopper>("Accuracy", "eval", "", 0.5, Time(3, TimeUnit::BATCH))};
      return make_run(blobs(80), "20ba", 42, 7, {std::make_shared<ScriptEvalAccuracy>(script), stoppers[0], stoppers[1]},
                      4, eval_every_batch(std::move(more)));
    };
    TempDir dir;
    std::vector<std::shared_ptr<EarlyStopper>> full_stoppers;
    auto full = make(full_stoppers, [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("6ba"); });
    full.trainer->fit();
    CHECK(full.trainer->state().timestamp.batch() == 8);
    CHECK(full_stoppers[0]->best_batch() == 8);
    CHECK(full_stoppers[1]->best_batch() == 4);
    REQUIRE(fs::exists(dir / "ep0-ba6-rank0.pt"));

    std::vector<std::shared_ptr<EarlyStopper>> stoppers;
    auto resumed = make(stoppers, [&](TrainerOptions& o) { o.load_path(dir / "ep0-ba6-rank0.pt"); });
    const auto& keys = resumed.trainer->state().callback_states();
    CHECK(std::any_of(keys.begin(), keys.end(), [](const auto& k) { return k.first == "EarlyStopper_1"; }));
    CHECK(stoppers[0]->best_batch() == 6);
    CHECK(stoppers[1]->best_batch() == 4);
    REQUIRE(stoppers[1]->best().has_value());
    CHECK(*stoppers[1]->best() == 4.0);
    resumed.trainer->fit();
    CHECK(resumed.trainer->state().timestamp.batch() == 8);
    CHECK(stoppers[0]->best_batch() == 8);
  }

  TEST_CASE("ThresholdStopper stops at the first evaluation past the threshold") {
    auto script = [](int64_t b) { return static_cast<double>(b); };
    auto run = make_run(blobs(80), "20ba", 42, 7,
                        {std::make_shared<ScriptEvalAccuracy>(script), std::make_shared<ThresholdStopper>("Accuracy", "eval", 5.5)},
                        4, eval_every_batch());
    run.trainer->fit();
    CHECK(run.trainer->state().timestamp.batch() == 6);
    CHECK(run.trainer->state().stop_reason().find("ThresholdStopper: Accuracy of 'eval' is 6") != std::string::npos);

    // A training metric, checked every batch: accuracy is at most 1, so "less than 2" holds at once.
    auto train = make_run(blobs(80), "20ba", 42, 7, {std::make_shared<ThresholdStopper>("Accuracy", "train", 2.0, "less", true)});
    train.trainer->fit();
    CHECK(train.trainer->state().timestamp.batch() == 1);
  }

  TEST_CASE("NaNMonitor throws TrainingError naming the epoch and batch of a NaN or infinite loss") {
    class Poison : public Callback {
     public:
      Poison(int64_t batch, double value) : batch_(batch), value_(value) {}

     protected:
      void on_after_loss(State& state, Logger&) override {
        if (state.timestamp.batch() == batch_) state.loss = state.loss * value_;
      }

     private:
      int64_t batch_;
      double value_;
    };
    auto nan = make_run(blobs(80), "20ba", 42, 7,
                        {std::make_shared<Poison>(7, std::nan("")), std::make_shared<NaNMonitor>()});
    CHECK_THROWS_WITH_AS(nan.trainer->fit(), "loss is NaN at epoch 0, batch 7 (batch_in_epoch 7)", TrainingError);
    auto inf = make_run(blobs(12), "3ep", 42, 7,
                        {std::make_shared<Poison>(4, std::numeric_limits<double>::infinity()), std::make_shared<NaNMonitor>()});
    CHECK_THROWS_WITH_AS(inf.trainer->fit(), "loss is inf at epoch 1, batch 4 (batch_in_epoch 1)", TrainingError);
    auto fine = make_run(blobs(12), "1ep", 42, 7, {std::make_shared<NaNMonitor>()});
    CHECK_NOTHROW(fine.trainer->fit());
  }

  TEST_CASE("LRMonitor, SpeedMonitor and MemoryMonitor log Composer's keys; SpeedMonitor's window resumes") {
    auto destination = std::make_shared<Recording>();
    auto speed = std::make_shared<SpeedMonitor>(2);
    auto run = make_run(blobs(16), "4ba", 42, 7,
                        {std::make_shared<LRMonitor>(), speed, std::make_shared<MemoryMonitor>()}, 4,
                        [&](TrainerOptions& o) { o.loggers({destination}); });
    run.trainer->fit();
    const auto lr = destination->values("lr-Adam/group0");
    CHECK(lr.size() == 4);
    for (const auto& [step, value] : lr) CHECK(value == doctest::Approx(1e-2));
    CHECK(destination->values("wall_clock/train").size() == 4);
    CHECK(destination->values("wall_clock/val").size() == 4);
    CHECK(destination->values("wall_clock/total").size() == 4);
    // A window of 2 batches needs 3 records: from batch 3 on.
    const auto batches = destination->values("throughput/batches_per_sec");
    const auto samples = destination->values("throughput/samples_per_sec");
    CHECK(batches.size() == 2);
    CHECK(samples.size() == 2);
    for (const auto& [step, value] : samples) CHECK(value == doctest::Approx(4 * batches.at(step)));
    const auto rss = destination->values("memory/rss_bytes");
    const auto peak = destination->values("memory/peak_rss_bytes");
    REQUIRE(rss.size() == 4);
    CHECK(rss.begin()->second > 0);
    CHECK(peak.begin()->second >= rss.begin()->second);

    SpeedMonitor restored(2);
    restored.load_state_dict(speed->state_dict());
    const auto a = speed->state_dict().toGenericDict();
    const auto b = restored.state_dict().toGenericDict();
    CHECK(a.at("history_samples").toListRef().size() == 3);
    CHECK(a.at("history_samples") == b.at("history_samples"));
    CHECK(a.at("history_wct") == b.at("history_wct"));
    CHECK(a.at("total_eval_wct") == b.at("total_eval_wct"));
  }

  TEST_CASE("the best checkpoint follows the best evaluation, survives rotation and a resume, and never evicts the newest") {
    const std::map<int64_t, double> values{{1, 0.3}, {2, 0.5}, {3, 0.4}, {4, 0.7}, {5, 0.6}, {6, 0.2},
                                           {7, 0.1}, {8, 0.65}};
    auto script = [values](int64_t b) { return values.at(b); };
    for (const char* interval : {"1ba", "3ba"}) {
      CAPTURE(interval);
      TempDir dir;
      auto options = [&] {
        return CheckpointSaverOptions()
            .folder(dir.path())
            .save_interval(Time::parse(interval))
            .num_checkpoints_to_keep(1)
            .overwrite(true)
            .best_metric("eval/Accuracy");
      };
      auto saver = std::make_shared<CheckpointSaver>(options());
      auto run = make_run(blobs(80), "6ba", 42, 7, {std::make_shared<ScriptEvalAccuracy>(script), saver}, 4,
                          eval_every_batch());
      run.trainer->fit();
      REQUIRE(saver->best_value().has_value());
      CHECK(*saver->best_value() == 0.7);
      CHECK(saver->best_batch() == 4);
      CHECK(saver->best_checkpoint() == dir / "best-rank0.pt");
      // Rotation kept one checkpoint, the newest, and left the best alone.
      CHECK(files_in(dir.path()) == std::vector<std::string>{"best-rank0.pt", "ep0-ba6-rank0.pt", "latest-rank0.pt"});
      CHECK(saver->saved_checkpoints() == std::vector<std::string>{dir / "ep0-ba6-rank0.pt"});
      auto best = make_run(blobs(80), "6ba", [&](TrainerOptions& o) { o.load_path(dir / "best-rank0.pt"); });
      CHECK(best.trainer->state().timestamp.batch() == 4);

      // Resumed from the newest: the saver remembers the best, and a worse evaluation (0.65 at
      // batch 8) does not replace it.
      auto resumed_saver = std::make_shared<CheckpointSaver>(options());
      auto resumed = make_run(blobs(80), "8ba", 42, 7, {std::make_shared<ScriptEvalAccuracy>(script), resumed_saver}, 4,
                              eval_every_batch([&](TrainerOptions& o) { o.load_path(dir / "ep0-ba6-rank0.pt"); }));
      REQUIRE(resumed_saver->best_value().has_value());
      CHECK(*resumed_saver->best_value() == 0.7);
      CHECK(resumed_saver->best_batch() == 4);
      resumed.trainer->fit();
      CHECK(resumed_saver->best_batch() == 4);
      CHECK(files_in(dir.path()) == std::vector<std::string>{"best-rank0.pt", "ep0-ba8-rank0.pt", "latest-rank0.pt"});
      auto still_best = make_run(blobs(80), "8ba", [&](TrainerOptions& o) { o.load_path(dir / "best-rank0.pt"); });
      CHECK(still_best.trainer->state().timestamp.batch() == 4);
    }
    CHECK_THROWS_AS(CheckpointSaver(CheckpointSaverOptions().best_metric("Accuracy")), ConfigError);
  }
}
