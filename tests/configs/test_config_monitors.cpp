// The monitors and stoppers from YAML: every built-in name builds its callback with its keys.
#include <doctest/doctest.h>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/early_stopper.h"
#include "tempo/callbacks/lr_monitor.h"
#include "tempo/callbacks/memory_monitor.h"
#include "tempo/callbacks/nan_monitor.h"
#include "tempo/callbacks/speed_monitor.h"
#include "tempo/callbacks/threshold_stopper.h"
#include "configs/config_test_support.h"
#include "tempo/optim/fused_adam.h"

TEST_SUITE("configs") {
TEST_CASE("monitors, stoppers and the best checkpoint are built from YAML") {
  auto r = tempo::testing::builtin_registry();
  tempo::testing::TempDir dir;
  const auto text = tempo::testing::tiny_config(
      "eval_loader:\n"
      "  synthetic: {num_samples: 16, shape: [8], num_classes: 2, batch_size: 8}\n"
      "eval_interval: 1ba\n"
      "callbacks:\n"
      "  lr_monitor: {}\n"
      "  speed_monitor: {window_size: 2}\n"
      "  memory_monitor: {}\n"
      "  nan_monitor: {}\n"
      "  early_stopper: {monitor: CrossEntropy, dataloader_label: eval, patience: 3ba}\n"
      "  threshold_stopper: {monitor: Accuracy, dataloader_label: eval, threshold: 2.0}\n"
      "  checkpoint_saver: {folder: '" + dir.path() + "', save_interval: 1ba, num_checkpoints_to_keep: 1, "
      "best_metric: eval/Accuracy}\n");
  const auto config = tempo::config::RunConfig::parse(text, "run.yaml", {}, r);
  const auto yaml = config.yaml();
  CHECK(yaml.find("best_filename: best-rank{rank}.pt") != std::string::npos);
  CHECK(yaml.find("min_delta: 0") != std::string::npos);
  auto options = config.build(r);
  int found = 0;
  for (const auto& callback : options.callbacks()) {
    found += std::dynamic_pointer_cast<tempo::LRMonitor>(callback) || std::dynamic_pointer_cast<tempo::SpeedMonitor>(callback) ||
             std::dynamic_pointer_cast<tempo::MemoryMonitor>(callback) || std::dynamic_pointer_cast<tempo::NaNMonitor>(callback) ||
             std::dynamic_pointer_cast<tempo::EarlyStopper>(callback) ||
             std::dynamic_pointer_cast<tempo::ThresholdStopper>(callback) ||
             std::dynamic_pointer_cast<tempo::CheckpointSaver>(callback);
  }
  CHECK(found == 7);
  tempo::Trainer trainer(options);
  trainer.fit();
  CHECK(std::filesystem::exists(dir / "best-rank0.pt"));

  CHECK(tempo::testing::config_error(tempo::testing::tiny_config("callbacks:\n  early_stopper: {dataloader_label: eval}\n"))
            .find("missing required key 'monitor'") != std::string::npos);
  CHECK(tempo::testing::config_error(
            tempo::testing::tiny_config("callbacks:\n  early_stopper: {monitor: Accuracy, dataloader_label: eval, patience: 3sp}\n"))
            .find("patience") != std::string::npos);
}

TEST_CASE("the built-in parts read their keys through their options' descriptions: errors name the key") {
  using tempo::testing::config_error;
  using tempo::testing::tiny_config;
  const auto npos = std::string::npos;
  const auto with_optimizer = [](const std::string& optimizer) {
    auto text = tiny_config();
    const std::string adam = "  adam: {lr: 1.0e-2}\n";
    return text.replace(text.find(adam), adam.size(), optimizer);
  };
  CHECK(config_error(with_optimizer("  adam: {betas: [0.9]}\n"))
            .find("optimizers.adam.betas: expected two numbers [beta1, beta2], got 1") != npos);
  CHECK(config_error(tiny_config("callbacks:\n  early_stopper: {monitor: Accuracy, dataloader_label: eval, patience: 3sp}\n"))
            .find("callbacks.early_stopper.patience: expected a time in epochs (ep) or batches (ba), got \"3sp\"") != npos);
  CHECK(config_error(tiny_config("callbacks:\n  speed_monitor: {window_size: 0}\n"))
            .find("callbacks.speed_monitor.window_size: expected a number >= 1, got 0") != npos);
  CHECK(config_error(tiny_config("callbacks:\n  threshold_stopper: {monitor: Accuracy, dataloader_label: eval}\n"))
            .find("missing required key 'threshold'") != npos);
  CHECK(config_error(tiny_config("eval_loader:\n  fashion_mnist: {split: val}\n"))
            .find("eval_loader.fashion_mnist.split: expected one of train, test, got \"val\"") != npos);
  CHECK(config_error(tiny_config("eval_loader:\n  synthetic: {shape: [8, 0]}\n"))
            .find("eval_loader.synthetic.shape: expected positive dimensions, got 0") != npos);
  CHECK(config_error(tiny_config("schedulers:\n  multistep: {milestones: 2ba}\n"))
            .find("schedulers.multistep.milestones: expected a list of time strings") != npos);

  // fused: false takes torch::optim's own step; every other value is torch's AdamWOptions default.
  auto r = tempo::testing::builtin_registry();
  const auto options = tempo::config::RunConfig::parse(with_optimizer("  adamw: {fused: false}\n"), "run.yaml", {}, r).build(r);
  REQUIRE(options.optimizers().size() == 1);
  const auto& optimizer = options.optimizers()[0];
  CHECK(std::dynamic_pointer_cast<torch::optim::AdamW>(optimizer));
  CHECK_FALSE(std::dynamic_pointer_cast<tempo::FusedAdamW>(optimizer));
  const auto& defaults = static_cast<const torch::optim::AdamWOptions&>(optimizer->defaults());
  CHECK(defaults.lr() == torch::optim::AdamWOptions().lr());
  CHECK(defaults.weight_decay() == 0.01);
  CHECK(std::get<1>(defaults.betas()) == 0.999);
}
}
