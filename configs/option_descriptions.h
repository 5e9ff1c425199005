// The YAML keys of tempo's options structs, each struct described once (configs/options_description.h):
// its keys, members, docs and value checks. The schemas, the builders that fill the structs from a
// resolved config, the defaults of --print-config and the tables of docs/config.md all come from
// these descriptions; the defaults themselves are the structs' TORCH_ARG initialisers.
// The trainer's save_* keys are CheckpointSaver keys under the trainer's name (saver_alias_key),
// so a value is checked by the same rule and an error names the key as the user wrote it
// (save_num_checkpoints_to_keep, or callbacks.checkpoint_saver.num_checkpoints_to_keep).
#pragma once

#include <string>

#include "callbacks/checkpoint_saver.h"
#include "configs/options_description.h"
#include "data/data_loader.h"
#include "loggers/console_logger.h"
#include "loggers/file_logger.h"
#include "loggers/progress_bar_logger.h"
#include "loggers/tensorboard_logger.h"
#include "models/cnn.h"
#include "models/mlp.h"
#include "trainer/trainer_options.h"

namespace tempo::config {

// The trainer's keys other than the part sections (model, train_loader, ...).
const Description<TrainerOptions>& trainer_description();
// callbacks: {checkpoint_saver: {...}}
const Description<CheckpointSaverOptions>& checkpoint_saver_description();
// The trainer key of the CheckpointSaver key `saver_key`, Composer's rule: "save_" + the key,
// unless it already starts with "save_" (save_interval, save_async).
std::string saver_alias_key(const std::string& saver_key);

// model: {mlp: ...}, model: {cnn: ...}
const Description<MlpOptions>& mlp_description();
const Description<CnnOptions>& cnn_description();
// The keys every dataset shares: how its DataLoader batches it.
const Description<DataLoaderOptions>& data_loader_description();

// loggers: {...}
const Description<ProgressBarLoggerOptions>& progress_bar_logger_description();
const Description<ConsoleLoggerOptions>& console_logger_description();
const Description<FileLoggerOptions>& file_logger_description();
const Description<TensorBoardLoggerOptions>& tensorboard_logger_description();

}  // namespace tempo::config
