// The trainer's keys, with TrainerOptions' defaults (trainer/trainer_options.h) written as YAML.
#include "configs/schema.h"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::config {

const Schema& trainer_schema() {
  static const Schema schema = {
      {"run_name", "string", "\"\"", "Name of the run, used in checkpoint names; empty: made from the start time"},
      {"seed", "uint", "null", "Seed of every generator; unset: drawn at start and written into the resolved config"},
      {"max_duration", "time", "", "How long to train, e.g. 2ep, 500ba"},
      {"scale_schedule_ratio", "float", "1.0",
       "Stretches max_duration and the schedulers' times (Composer's); other than 1 needs schedulers"},
      {"eval_interval", "interval", "1ep", "How often to evaluate eval_loader"},
      {"eval_subset_num_batches", "int", "-1", "Batches per evaluation; -1: the whole eval loader"},
      {"device", "string", "cpu", "cpu, cuda, cuda:N or auto"},
      {"precision", "string", "fp32",
       "fp32; amp_bf16 (bfloat16 autocast, CPU or CUDA); amp_fp16 (float16 autocast and a GradScaler, CUDA only)"},
      {"device_train_microbatch_size", "int", "null",
       "Samples per microbatch: each batch is split and its gradients accumulated; unset or 0: the whole batch"},
      {"clipping_type", "string", "none", "Gradient clipping, Composer's GradientClipping: none, norm, value or adaptive"},
      {"clipping_threshold", "float", "null",
       "Largest gradient norm (norm), element (value) or grad/weight norm ratio (adaptive); required with clipping"},
      {"save_folder", "string", "\"\"", "Folder for checkpoints (format string); empty: no checkpoints"},
      {"save_filename", "string", "ep{epoch}-ba{batch}-rank{rank}.pt", "Checkpoint file name (format string)"},
      {"save_latest_filename", "string", "latest-rank{rank}.pt", "Name of the link to the newest checkpoint"},
      {"save_interval", "interval", "1ep", "How often to save a checkpoint"},
      {"save_num_checkpoints_to_keep", "int", "-1", "Newest checkpoints to keep; -1: all"},
      {"save_overwrite", "bool", "false", "Allow replacing checkpoints of an earlier run of this name"},
      {"save_ignore_errors", "bool", "false", "On a failed save (disk full, I/O error): warn and keep training"},
      {"save_async", "bool", "false",
       "Write checkpoints on a background thread from a copy in host memory, taken while the next batch trains"},
      {"save_weights_only", "bool", "false", "Save only the model's weights"},
      {"save_metrics", "bool", "false",
       "Keep the train and eval metrics' state in checkpoints, so a resumed run's metrics continue exactly"},
      {"load_path", "string", "\"\"", "Checkpoint to start from; empty: a fresh run"},
      {"load_weights_only", "bool", "false", "Take only the model's weights from load_path"},
      {"load_strict_model_weights", "bool", "true", "Fail when load_path's weights do not match the model's"},
      {"load_ignore_keys", "list[string]", "[]", "Paths in the checkpoint to skip, e.g. state/model/head.weight"},
      {"autoresume", "bool", "false", "Resume from the newest checkpoint in save_folder, if any"},
      {"model", "part", "", "The model: one of the registered models and its arguments"},
      {"train_loader", "part", "", "The training data: one registered dataset and its arguments"},
      {"eval_loader", "part", "null", "The evaluation data: one registered dataset; unset: no evaluation"},
      {"optimizers", "parts", "", "The optimizer(s) of the model's parameters"},
      {"schedulers", "parts", "{}", "Learning-rate schedulers"},
      {"callbacks", "parts", "{}", "Callbacks; a list allows several of one kind"},
      {"loggers", "parts", "{}", "Logger destinations"},
  };
  return schema;
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string schema_table(const Schema& schema) {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& key : schema) {
    out += fmt::format("| `{}` | {} | {} | {} |\n", key.name, key.type,
                       key.required() ? "required" : "`" + key.default_yaml + "`", key.doc);
  }
  return out;
}

}  // namespace tempo::config
