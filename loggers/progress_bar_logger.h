// ProgressBarLogger (YAML `progress_bar`): Composer's progress bars for training and evaluation,
//   train          Epoch   0:  45%|███████████▎             | 29/64 [00:01<00:02, 21.30ba/s, loss/train/total=0.6931]
//   eval           Epoch   0: 100%|█████████████████████████| 20/20 [00:00<00:00, 98.10ba/s, metrics/eval/Accuracy=0.8412]
// With max_duration in epochs there is one bar per epoch (batch_in_epoch of the batches per
// epoch); in ba/sp/tok one bar for the whole run in that unit. Evaluation bars count the
// evaluator's batches (their total is not known to callbacks, so they show a count and a rate)
// and end with its metrics. Hyperparameters are printed once, as a "Config:" block, at FIT_START
// (or at the start of a standalone evaluation). Only local rank 0 draws (one bar a machine).
//
// On a terminal (isatty, or force_terminal: true) the current bar is redrawn in place with '\r'
// and "ESC[K", at most every refresh_interval_s, and a finished bar stays on its line. Elsewhere
// (CI logs, files; force_terminal: false) the output is plain lines only, no control characters
// and ASCII only: one each time another plain_interval_percent of a bar is done or
// plain_interval_s have passed since the bar's last line, and one when a bar ends.
//
// Its state (the open training bar: count, total, description, last metrics) is saved under
// state/callbacks/ProgressBarLogger, as Composer's is, so a resumed run goes on drawing the
// same bar. Throws ConfigError for a stream other than stderr/stdout or a non-positive interval.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "tempo/callbacks/logger.h"
#include "tempo/loggers/console_output.h"
#include "tempo/loggers/progress_bar.h"

namespace tempo {

struct ProgressBarLoggerOptions {
  // "stderr" or "stdout" (Composer's `stream`).
  TORCH_ARG(std::string, stream) = "stderr";
  // C++ only: write to this stream instead (it must outlive the logger); not a terminal unless forced.
  TORCH_ARG(OutputStream, output) = nullptr;
  // Unset: redraw in place exactly when the stream is a terminal (isatty).
  TORCH_ARG(std::optional<bool>, force_terminal) = std::nullopt;
  // Terminal: redraw at most this often (seconds).
  TORCH_ARG(double, refresh_interval_s) = 0.1;
  // Not a terminal: a line each time another this-many percent of a bar is done...
  TORCH_ARG(double, plain_interval_percent) = 10;
  // ... or this many seconds passed since that bar's last line.
  TORCH_ARG(double, plain_interval_s) = 60;
  // Characters of the bar itself (terminal only).
  TORCH_ARG(int64_t, bar_width) = 25;
  // Saving or loading a checkpoint of at least this many MiB draws a bar of its own.
  TORCH_ARG(double, checkpoint_min_mb) = 64;
};

class ProgressBarLogger : public LoggerDestination {
 public:
  explicit ProgressBarLogger(ProgressBarLoggerOptions options = {});
  ~ProgressBarLogger() override;

  void log_metrics(const Metrics& metrics, int64_t step) override;
  void log_hyperparameters(const Hyperparameters& hyperparameters) override;
  // "saving ep1-ba469-rank0.pt: 45%|███ | 270/600MB [00:01<00:01, 250.00MB/s]", on a line of its
  // own (a training bar's line is ended first), for checkpoints of checkpoint_min_mb or more.
  void log_checkpoint_progress(const CheckpointProgress& progress) override;

  // {"train_pbar": bar or None, "eval_pbar": bar or None} (see ProgressBar::state_dict). Loading
  // restores the training bar; an evaluation bar is not resumed (a new evaluation draws its own).
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

  const ProgressBarLoggerOptions& options() const { return options_; }
  bool is_terminal() const { return output_.is_terminal(); }

 protected:
  void on_event(Event event, State& state, Logger& logger) override;
  void on_fit_start(State& state, Logger& logger) override;
  void on_epoch_start(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;
  void on_eval_standalone_start(State& state, Logger& logger) override;
  void on_eval_start(State& state, Logger& logger) override;
  void on_eval_batch_end(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;

 private:
  // A bar and when it last drew.
  struct Drawn {
    explicit Drawn(ProgressBar b) : bar(std::move(b)) {}
    ProgressBar bar;
    ProgressBar::Clock::time_point last_draw{};
    int64_t last_plain_step = 0;  // floor(percent / plain_interval_percent) at the last plain line
    int64_t last_plain_n = 0;     // what the last plain line showed
    Metrics last_plain_metrics;
  };

  void print_hyperparameters();
  // Makes `bar` the one in `slot`, as if its current count had just been shown.
  void start(std::optional<Drawn>& slot, ProgressBar bar);
  int64_t plain_step(const ProgressBar& bar) const;
  void ensure_train_bar(const State& state);
  ProgressBar make_bar(const State& state, bool is_train) const;
  // Draws `d` if due (always with `force`).
  void draw(Drawn& d, bool force);
  // Draws `d` a last time and leaves its line.
  void close(std::optional<Drawn>& d);
  Drawn* current() { return eval_ ? &*eval_ : train_ ? &*train_ : nullptr; }

  ProgressBarLoggerOptions options_;
  ConsoleOutput output_;
  bool active_ = true;          // local rank 0 only (one bar a machine)
  bool line_open_ = false;      // a terminal line was drawn and not yet ended
  Hyperparameters hyperparameters_;
  bool hyperparameters_printed_ = false;
  std::optional<Drawn> train_;
  std::optional<Drawn> eval_;
  std::optional<Drawn> checkpoint_;
};

}  // namespace tempo
