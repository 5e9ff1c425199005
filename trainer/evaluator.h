// One evaluation dataset: a label ("eval"), its loader, and when it runs. Composer's Evaluator.
// The interval defaults to the trainer's eval_interval; subset_num_batches = -1 means all.
// Evaluation always reads the loader's epoch 0, so every evaluation sees the same batches.
// metric_names picks, among the model's evaluation metrics (Model::metrics(false)), those whose
// name contains one of them as a case-insensitive regular expression; empty: all of them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tempo/callbacks/interval.h"

namespace tempo {

class DataLoader;

struct Evaluator {
  std::string label = "eval";
  std::shared_ptr<DataLoader> dataloader;
  std::optional<Interval> eval_interval;
  int64_t subset_num_batches = -1;
  std::vector<std::string> metric_names;
};

}  // namespace tempo
