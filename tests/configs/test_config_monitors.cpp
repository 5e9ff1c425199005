// The monitors and stoppers from YAML: every built-in name builds its callback with its keys.
#include <doctest/doctest.h>

#include "callbacks/checkpoint_saver.h"
#include "callbacks/early_stopper.h"
#include "callbacks/lr_monitor.h"
#include "callbacks/memory_monitor.h"
#include "callbacks/nan_monitor.h"
#include "callbacks/speed_monitor.h"
#include "callbacks/threshold_stopper.h"
#include "configs/config_test_support.h"

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
}
