// Metrics in the trainer: eval and train metrics in State, logged under Composer's keys, and
// saved in checkpoints only with save_metrics.
#include <doctest/doctest.h>

#include <cmath>

#include "tempo/metrics/accuracy.h"
#include "tempo/metrics/loss_metric.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/checkpoint_tree.h"
#include "tempo/state/tree.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

class MetricRecorder : public LoggerDestination {
 public:
  std::vector<std::pair<int64_t, Metrics>> records;
  void log_metrics(const Metrics& m, int64_t step) override { records.emplace_back(step, m); }
  void log_hyperparameters(const Hyperparameters&) override {}
  // Every value logged under `key`, in order.
  std::vector<double> values(const std::string& key) const {
    std::vector<double> out;
    for (const auto& [step, m] : records) {
      if (m.count(key)) out.push_back(m.at(key));
    }
    return out;
  }
};

// What the training metrics hold at each BATCH_END and EPOCH_END.
class TrainMetricProbe : public Callback {
 public:
  std::vector<double> batch_accuracy, independent_accuracy, epoch_accuracy;
  std::vector<int64_t> update_counts;

 protected:
  void on_batch_end(State& state, Logger&) override {
    const auto& metric = state.train_metrics.at("Accuracy");
    update_counts.push_back(metric->update_count());
    batch_accuracy.push_back(metric->compute());
    // The batch's own outputs, checked without the metric.
    independent_accuracy.push_back(state.outputs.argmax(1).eq(state.batch.target).to(torch::kDouble).mean().item<double>());
  }
  void on_epoch_end(State& state, Logger&) override { epoch_accuracy.push_back(state.train_metrics.at("Accuracy")->compute()); }
};

// Accuracy and mean cross entropy of `model` over all of `data`, computed directly.
std::pair<double, double> evaluate(Model& model, const TensorDataset& data) {
  torch::NoGradGuard no_grad;
  model.eval();
  auto outputs = model.forward(data.input());
  model.train();
  const double accuracy = outputs.argmax(1).eq(data.target()).to(torch::kDouble).mean().item<double>();
  const double cross_entropy =
      torch::nn::functional::cross_entropy(outputs.to(torch::kDouble), data.target()).item<double>();
  return {accuracy, cross_entropy};
}

TreeDict state_of(const c10::IValue& checkpoint) { return checkpoint.toGenericDict().at("state").toGenericDict(); }

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("eval metrics are logged as metrics/<label>/<name> and equal a direct computation over the eval set") {
    auto eval_data = blobs(30, 8, 77);  // batches of 7: four full ones and one of 2
    auto recorder = std::make_shared<MetricRecorder>();
    Evaluator holdout;
    holdout.label = "holdout";
    holdout.dataloader = loader(eval_data, 30, false);
    holdout.metric_names = {"cross"};
    auto run = make_run(blobs(40), "2ep", [&](TrainerOptions& o) {
      o.eval_dataloader(loader(eval_data, 7, false)).evaluators({holdout}).loggers({recorder});
    });
    run.trainer->fit();
    const auto [accuracy, cross_entropy] = evaluate(*run.model, *eval_data);

    const auto& eval = run.trainer->state().eval_metrics.at("eval");
    CHECK(eval.size() == 2);
    CHECK(eval.at("Accuracy")->compute() == accuracy);  // a count over a count: exact
    CHECK(eval.at("CrossEntropy")->compute() == doctest::Approx(cross_entropy).epsilon(1e-6));
    const auto logged_accuracy = recorder->values("metrics/eval/Accuracy");
    REQUIRE(logged_accuracy.size() == 2);  // once per epoch
    CHECK(logged_accuracy.back() == accuracy);
    CHECK(recorder->values("metrics/eval/CrossEntropy").back() == eval.at("CrossEntropy")->compute());
    // The second evaluator took only the metrics its metric_names match.
    const auto& picked = run.trainer->state().eval_metrics.at("holdout");
    CHECK(picked.size() == 1);
    CHECK(recorder->values("metrics/holdout/CrossEntropy").size() == 2);
    CHECK(recorder->values("metrics/holdout/Accuracy").empty());
    // One batch of 30 against five uneven ones: the same sample-weighted mean.
    CHECK(picked.at("CrossEntropy")->compute() == doctest::Approx(eval.at("CrossEntropy")->compute()).epsilon(1e-6));

    // Standalone eval() gives the same values again.
    run.trainer->eval();
    CHECK(eval.at("Accuracy")->compute() == accuracy);
  }

  TEST_CASE("train metrics are computed from every batch's outputs, reset each batch, and logged as metrics/train/<name>") {
    auto probe = std::make_shared<TrainMetricProbe>();
    auto recorder = std::make_shared<MetricRecorder>();
    auto run = make_run(blobs(22), "2ep", 42, 7, {probe}, 4, [&](TrainerOptions& o) { o.loggers({recorder}); });
    run.trainer->fit();
    REQUIRE(probe->batch_accuracy.size() == 12);  // 6 batches per epoch, the last of 2 samples
    CHECK(probe->update_counts == std::vector<int64_t>(12, 1));
    CHECK(probe->batch_accuracy == probe->independent_accuracy);
    // Logged after every batch, and once more at each epoch's end (Composer's two calls).
    const auto logged = recorder->values("metrics/train/Accuracy");
    REQUIRE(logged.size() == 14);
    CHECK(logged[0] == probe->batch_accuracy[0]);
    CHECK(logged[5] == probe->batch_accuracy[5]);
    CHECK(logged[6] == probe->batch_accuracy[5]);  // end of epoch 1: the last batch's value
    CHECK(probe->epoch_accuracy == std::vector<double>{probe->batch_accuracy[5], probe->batch_accuracy[11]});
    CHECK(recorder->values("metrics/train/CrossEntropy").empty());  // the default trains with Accuracy only
  }

  TEST_CASE("a model chooses its metrics; metrics that do not fit its outputs fail with advice") {
    class Chooser : public TinyNet {
     public:
      MetricMap metrics(bool train) override {
        if (train) return {};
        return {{"Loss", std::make_shared<LossMetric>([this](const at::Tensor& o, const Batch& b) { return loss(o, b); })},
                {"MulticlassAccuracy", std::make_shared<MulticlassAccuracy>(2)}};
      }
    };
    auto recorder = std::make_shared<MetricRecorder>();
    torch::manual_seed(7);
    auto model = std::make_shared<Chooser>();
    Trainer trainer(TrainerOptions()
                        .model(model)
                        .train_dataloader(loader(blobs(12), 4))
                        .eval_dataloader(loader(blobs(8, 8, 5), 4, false))
                        .optimizers({std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1))})
                        .loggers({recorder})
                        .max_duration("1ep")
                        .seed(1));
    trainer.fit();
    CHECK(trainer.state().train_metrics.empty());
    for (const auto& [step, m] : recorder->records) {
      for (const auto& [key, value] : m) CHECK(key.rfind("metrics/train/", 0) != 0);
    }
    CHECK(recorder->values("metrics/eval/Loss").size() == 1);
    CHECK(recorder->values("metrics/eval/MulticlassAccuracy").size() == 1);

    // Float targets: the default Accuracy cannot use them, and says what to do.
    auto x = torch::randn({8, 8});
    auto floats = std::make_shared<TensorDataset>(x, torch::randn({8, 2}));
    class Regressor : public TinyNet {
     public:
      torch::Tensor loss(const torch::Tensor& outputs, const Batch& batch) override {
        return torch::mse_loss(outputs, batch.target);
      }
    };
    auto regressor = std::make_shared<Regressor>();
    Trainer bad(TrainerOptions()
                    .model(regressor)
                    .train_dataloader(loader(floats, 4))
                    .optimizers({std::make_shared<torch::optim::SGD>(regressor->parameters(), torch::optim::SGDOptions(0.1))})
                    .max_duration("1ep")
                    .seed(1));
    CHECK_THROWS_WITH_AS(bad.fit(), doctest::Contains("override Model::metrics()"), ConfigError);
  }

  TEST_CASE("save_metrics=true: checkpoints hold the metrics and resumed runs report the same metrics") {
    auto data = blobs(50);  // 13 batches per epoch, the last of 2 samples
    auto eval_data = blobs(20, 8, 31);
    TempDir dir;
    auto options = [&](TrainerOptions& o) {
      o.eval_dataloader(loader(eval_data, 8, false)).save_metrics(true).save_folder(dir.path()).save_interval("1ba");
    };
    auto full_probe = std::make_shared<TrainMetricProbe>();
    auto full = make_run(data, "2ep", 42, 7, {full_probe}, 4, options);
    full.trainer->fit();
    REQUIRE(full_probe->epoch_accuracy.size() == 2);

    // The checkpoint of the last batch of epoch 1, saved before EPOCH_END, in Composer's layout.
    auto at_13 = state_of(read_checkpoint(dir / "ep0-ba13-rank0.pt"));
    auto train = at_13.at("train_metrics").toGenericDict();
    REQUIRE(train.contains("Accuracy"));
    auto entry = train.at("Accuracy").toGenericDict();
    CHECK(entry.at("state_dict").toGenericDict().at("total").toInt() == 2);  // the last batch only
    CHECK(entry.at("_computed").toDouble() == full_probe->batch_accuracy[12]);
    CHECK(at_13.at("eval_metrics").toGenericDict().contains("eval"));

    // Resumed there: EPOCH_END of epoch 1 reports the restored value.
    {
      auto probe = std::make_shared<TrainMetricProbe>();
      auto resumed = make_run(data, "2ep", 5, 99, {probe}, 4, [&](TrainerOptions& o) {
        o.eval_dataloader(loader(eval_data, 8, false)).save_metrics(true).load_path(dir / "ep0-ba13-rank0.pt");
      });
      resumed.trainer->fit();
      CHECK(probe->epoch_accuracy == full_probe->epoch_accuracy);
      CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
    }
    // Resumed mid-epoch (epoch 2, batch 7): the same end-of-epoch train metric and eval metrics.
    {
      auto probe = std::make_shared<TrainMetricProbe>();
      auto resumed = make_run(data, "2ep", 5, 99, {probe}, 4, [&](TrainerOptions& o) {
        o.eval_dataloader(loader(eval_data, 8, false)).save_metrics(true).load_path(dir / "ep1-ba20-rank0.pt");
      });
      // Before training on, the eval metrics are those of the evaluation at the end of epoch 1.
      const auto& eval = resumed.trainer->state().eval_metrics.at("eval");
      const auto saved_eval = state_of(read_checkpoint(dir / "ep1-ba20-rank0.pt")).at("eval_metrics").toGenericDict();
      CHECK(eval.at("Accuracy")->compute() ==
            saved_eval.at("eval").toGenericDict().at("Accuracy").toGenericDict().at("_computed").toDouble());
      CHECK(eval.at("Accuracy")->update_count() == 3);  // 20 samples in batches of 8
      resumed.trainer->fit();
      REQUIRE(probe->epoch_accuracy.size() == 1);
      CHECK(probe->epoch_accuracy[0] == full_probe->epoch_accuracy[1]);
      CHECK(resumed.trainer->state().eval_metrics.at("eval").at("CrossEntropy")->compute() ==
            full.trainer->state().eval_metrics.at("eval").at("CrossEntropy")->compute());
    }
  }

  TEST_CASE("save_metrics=false (the default) keeps metrics out of checkpoints") {
    auto data = blobs(50);
    TempDir dir;
    auto full_probe = std::make_shared<TrainMetricProbe>();
    auto full = make_run(data, "1ep", 42, 7, {full_probe}, 4, [&](TrainerOptions& o) {
      o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)).save_folder(dir.path()).save_interval("1ba");
    });
    full.trainer->fit();
    const auto names = files_in(dir.path());
    REQUIRE(names.size() == 14);  // 13 batches and the latest link
    for (const auto& name : names) {
      CAPTURE(name);
      auto state = state_of(read_checkpoint(dir / name));
      CHECK(state.at("train_metrics").toGenericDict().size() == 0);
      CHECK(state.at("eval_metrics").toGenericDict().size() == 0);
    }
    // Resumed at the end of the epoch, there is nothing to report for its training metrics.
    auto probe = std::make_shared<TrainMetricProbe>();
    auto recorder = std::make_shared<MetricRecorder>();
    auto resumed = make_run(data, "1ep", 5, 99, {probe}, 4,
                            [&](TrainerOptions& o) { o.load_path(dir / "ep0-ba13-rank0.pt").loggers({recorder}); });
    resumed.trainer->fit();
    REQUIRE(probe->epoch_accuracy.size() == 1);
    CHECK(std::isnan(probe->epoch_accuracy[0]));
    CHECK(recorder->values("metrics/train/Accuracy").empty());
  }

  TEST_CASE("checkpoints without metrics, or with the plain numbers of older versions, still load") {
    auto run = make_run(blobs(12), "1ep", [](TrainerOptions& o) { o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)); });
    run.trainer->fit();
    const auto checkpoint = run.trainer->state_dict();

    auto without = make_run(blobs(12), "2ep", [](TrainerOptions& o) { o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)); });
    without.trainer->load_state_dict(remove_matching_keys(checkpoint, {"state/train_metrics", "state/eval_metrics"}));
    CHECK(without.trainer->state().timestamp.epoch() == 1);
    CHECK(without.trainer->state().eval_metrics.at("eval").at("Accuracy")->update_count() == 0);

    // What tempo wrote before metrics were objects: {name: value} and {label: {name: value}}.
    auto old = checkpoint.toGenericDict().copy();
    auto state = old.at("state").toGenericDict().copy();
    auto train = new_tree_dict();
    train.insert("loss", 0.25);
    auto eval = new_tree_dict();
    auto values = new_tree_dict();
    values.insert("Accuracy", 0.5);
    values.insert("CrossEntropy", 0.7);
    eval.insert("eval", values);
    state.insert_or_assign("train_metrics", train);
    state.insert_or_assign("eval_metrics", eval);
    old.insert_or_assign("state", state);
    auto older = make_run(blobs(12), "2ep", [](TrainerOptions& o) { o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)); });
    older.trainer->load_state_dict(old);
    CHECK(older.trainer->state().timestamp.epoch() == 1);
    CHECK(older.trainer->state().eval_metrics.at("eval").at("Accuracy")->update_count() == 0);
    older.trainer->fit();  // and trains on

    // A damaged metric entry is named, and nothing is loaded.
    auto saved = make_run(blobs(12), "1ep", [](TrainerOptions& o) {
      o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)).save_metrics(true);
    });
    saved.trainer->fit();
    auto damaged = saved.trainer->state_dict().toGenericDict().copy();
    auto damaged_state = damaged.at("state").toGenericDict().copy();
    auto entry = new_tree_dict();
    auto bad_state = new_tree_dict();
    bad_state.insert("correct", int64_t{1});
    bad_state.insert("update_count", int64_t{1});
    entry.insert("state_dict", bad_state);
    auto label = new_tree_dict();
    label.insert("Accuracy", entry);
    auto damaged_eval = new_tree_dict();
    damaged_eval.insert("eval", label);
    damaged_state.insert_or_assign("eval_metrics", damaged_eval);
    damaged.insert_or_assign("state", damaged_state);
    auto target = make_run(blobs(12), "2ep", [](TrainerOptions& o) { o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)); });
    CHECK_THROWS_WITH_AS(target.trainer->load_state_dict(damaged),
                         doctest::Contains("state/eval_metrics/eval/Accuracy/state_dict/total"), CheckpointError);
    CHECK(target.trainer->state().timestamp.epoch() == 0);

    // With save_metrics the eval metrics come back and compute the same value.
    auto restored = make_run(blobs(12), "2ep", [](TrainerOptions& o) { o.eval_dataloader(loader(blobs(8, 8, 3), 4, false)); });
    restored.trainer->load_state_dict(saved.trainer->state_dict());
    CHECK(restored.trainer->state().eval_metrics.at("eval").at("Accuracy")->compute() ==
          saved.trainer->state().eval_metrics.at("eval").at("Accuracy")->compute());
  }

  TEST_CASE("two evaluators may not share a label") {
    Evaluator second;
    second.dataloader = loader(blobs(8), 4, false);  // labelled "eval", as the eval_dataloader shortcut
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](TrainerOptions& o) {
                           o.eval_dataloader(loader(blobs(8), 4, false)).evaluators({second});
                         }),
                         doctest::Contains("two evaluators are labelled 'eval'"), ConfigError);
  }
}
