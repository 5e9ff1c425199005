// TensorBoardLogger (YAML `tensorboard`): Composer's TensorboardLogger, writing TensorBoard's
// event files itself (no Python): `tensorboard --logdir LOG_DIR` shows the run as LOG_DIR/RUN_NAME.
// The file, LOG_DIR/RUN_NAME/events.out.tfevents.<unix seconds>.<hostname> (".<pid>[.<n>]" added
// if that name is taken, e.g. by a restart within the same second), is TFRecord-framed
// (loggers/tfrecord.h) Event protocol buffers (loggers/tensorboard_event.proto): first
// {file_version: "brain.Event:2"}, then for every log_metrics call one Event at its step whose
// Summary holds each metric as {tag: name, simple_value: value} (the learning rate too, as
// whatever logs it names it), and for hyperparameters one Event whose values are text summaries
// {tag: "hyperparameters/<key>", metadata.plugin_data.plugin_name: "text", tensor: DT_STRING [1]}.
// The file is created at INIT. Records are written (one write(2) each, see
// loggers/record_writer.h) every flush_interval batches and at EPOCH_END, EVAL_END and FIT_END.
// A restarted run starts a new file in the same folder; TensorBoard reads them as one run.
// With rank_zero_only (the default) only rank 0 writes. Throws ConfigError for flush_interval < 1
// or a folder that cannot be created.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "tempo/callbacks/logger.h"
#include "tempo/loggers/record_writer.h"

namespace tempo {

struct TensorBoardLoggerOptions {
  TORCH_ARG(std::string, log_dir) = "tensorboard_logs";
  TORCH_ARG(int64_t, flush_interval) = 100;
  TORCH_ARG(bool, rank_zero_only) = true;
};

class TensorBoardLogger : public LoggerDestination {
 public:
  explicit TensorBoardLogger(TensorBoardLoggerOptions options = {});
  ~TensorBoardLogger() override;

  void log_metrics(const Metrics& metrics, int64_t step) override;
  void log_hyperparameters(const Hyperparameters& hyperparameters) override;

  // The event file; empty until INIT.
  const std::string& filename() const { return writer_.path(); }
  const TensorBoardLoggerOptions& options() const { return options_; }

 protected:
  void on_event(Event event, State& state, Logger& logger) override;
  void on_init(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;

 private:
  void upload(Logger& logger);
  TensorBoardLoggerOptions options_;
  RecordWriter writer_;
  bool active_ = true;
  int64_t step_ = 0;  // for hyperparameters, which come without one
};

}  // namespace tempo
