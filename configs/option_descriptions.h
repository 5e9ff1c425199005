// The YAML keys of tempo's options structs, each struct described once (configs/options_description.h):
// its keys, members, docs and value checks. The schemas, the builders that fill the structs from a
// resolved config, the defaults of --print-config and the tables of docs/config.md all come from
// these descriptions; the defaults themselves are the structs' TORCH_ARG initialisers.
// The trainer's save_* keys are CheckpointSaver keys under the trainer's name (saver_alias_key),
// so a value is checked by the same rule and an error names the key as the user wrote it
// (save_num_checkpoints_to_keep, or callbacks.checkpoint_saver.num_checkpoints_to_keep).
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <string>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/early_stopper.h"
#include "tempo/callbacks/speed_monitor.h"
#include "tempo/callbacks/threshold_stopper.h"
#include "tempo/configs/options_description.h"
#include "tempo/data/csv_dataset.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/data/npy_dataset.h"
#include "tempo/data/safetensors_dataset.h"
#include "tempo/data/synthetic_dataset.h"
#include "tempo/data/text_tokens.h"
#include "tempo/loggers/console_logger.h"
#include "tempo/loggers/file_logger.h"
#include "tempo/loggers/progress_bar_logger.h"
#include "tempo/loggers/remote_uploader_downloader.h"
#include "tempo/loggers/tensorboard_logger.h"
#include "tempo/models/cnn.h"
#include "tempo/models/gpt.h"
#include "tempo/models/mlp.h"
#include "tempo/trainer/trainer_options.h"

namespace tempo {
struct TorchScriptModelOptions;  // models/torchscript_model.h, which brings torch/script.h
}

namespace tempo::config {

// The trainer's keys other than the part sections (model, train_loader, ...).
const Description<TrainerOptions>& trainer_description();
// callbacks: {checkpoint_saver: {...}}
const Description<CheckpointSaverOptions>& checkpoint_saver_description();
// The trainer key of the CheckpointSaver key `saver_key`, Composer's rule: "save_" + the key,
// unless it already starts with "save_" (save_interval, save_async).
std::string saver_alias_key(const std::string& saver_key);

// callbacks: {speed_monitor: ...}, {early_stopper: ...}, {threshold_stopper: ...}; the stoppers'
// monitor and dataloader_label are required.
const Description<SpeedMonitorOptions>& speed_monitor_description();
const Description<EarlyStopperOptions>& early_stopper_description();
const Description<ThresholdStopperOptions>& threshold_stopper_description();

// An optimizer as a config makes it: torch's options, and whether it takes tempo's fused step
// (optim/fused_sgd.h, optim/fused_adam.h). Fused by default: the same results as torch::optim's
// step, bit for bit, several times faster on the CPU (benchmarks/bench_optimizer_step.cpp);
// parameters it cannot fuse (CUDA) take the plain step.
template <typename TorchOptions>
struct OptimizerConfig {
  // torch's defaults, except SGD's lr, which torch leaves to the caller: 0.01 (Composer's
  // DecoupledSGDW's example value and torch.optim.SGD's documentation's).
  OptimizerConfig() : torch_(defaults()) {}
  explicit OptimizerConfig(TorchOptions torch) : torch_(std::move(torch)) {}
  TORCH_ARG(TorchOptions, torch);
  TORCH_ARG(bool, fused) = true;

 private:
  static TorchOptions defaults() {
    if constexpr (std::is_same_v<TorchOptions, torch::optim::SGDOptions>) {
      return torch::optim::SGDOptions(0.01);
    } else {
      return TorchOptions();
    }
  }
};

// optimizers: {sgd: ...}, {adam: ...}, {adamw: ...}
const Description<OptimizerConfig<torch::optim::SGDOptions>>& sgd_description();
const Description<OptimizerConfig<torch::optim::AdamOptions>>& adam_description();
const Description<OptimizerConfig<torch::optim::AdamWOptions>>& adamw_description();

// model: {mlp: ...}, model: {cnn: ...}
const Description<MlpOptions>& mlp_description();
const Description<CnnOptions>& cnn_description();
// The keys every dataset shares: how its DataLoader batches it.
const Description<DataLoaderOptions>& data_loader_description();
// train_loader: {fashion_mnist: ...}, {synthetic: ...}: the dataset's own keys.
const Description<FashionMnistOptions>& fashion_mnist_description();
const Description<SyntheticDatasetOptions>& synthetic_dataset_description();
// train_loader: {csv: ...}, {npy: ...}, {safetensors: ...}; configs/builtin_datasets.cpp.
const Description<CsvDatasetOptions>& csv_dataset_description();
const Description<NpyDatasetOptions>& npy_dataset_description();
const Description<SafetensorsDatasetOptions>& safetensors_dataset_description();
// model: {gpt: ...} and train_loader: {text_tokens: ...}; configs/builtin_text.cpp.
const Description<GptOptions>& gpt_description();
const Description<TextTokensOptions>& text_tokens_description();

// model: {torchscript: ...}; configs/builtin_models.cpp.
const Description<TorchScriptModelOptions>& torchscript_description();

// loggers: {...}
const Description<ProgressBarLoggerOptions>& progress_bar_logger_description();
const Description<ConsoleLoggerOptions>& console_logger_description();
const Description<FileLoggerOptions>& file_logger_description();
const Description<TensorBoardLoggerOptions>& tensorboard_logger_description();
const Description<RemoteUploaderDownloaderOptions>& remote_uploader_downloader_description();

}  // namespace tempo::config
