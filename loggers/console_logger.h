// ConsoleLogger (YAML `console`): Composer's ConsoleLogger. It gathers the metrics logged since
// its last print and prints them every log_interval (Composer's semantics: "Nba" prints at
// batch counts that are multiples of N, "Nep" at the ends of epochs that are multiples of N, and
// always after the first batch or epoch; what is left is printed at FIT_END):
//   [epoch=1][batch=16/64]:
//   	 Train loss/train/total: 0.6931
// and after every evaluation, whatever the interval:
//   [Eval batch=20/20] Eval on eval data:
//   	 Eval metrics/eval/Accuracy: 0.8412
// Hyperparameters are printed once, as a "Config:" block, at FIT_START or the start of a
// standalone evaluation. With several ranks only rank 0 prints (rank_zero_only, the default: the
// metrics it prints are already reduced over ranks). Lines go to stderr (the default) or stdout, flushed.
// Throws ConfigError when log_interval is not in ep or ba or not positive, or for a bad stream.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "tempo/callbacks/logger.h"
#include "tempo/loggers/console_output.h"
#include "tempo/time/time_quantity.h"

namespace tempo {

struct ConsoleLoggerOptions {
  TORCH_ARG(Time, log_interval) = Time(1, TimeUnit::BATCH);
  // "stderr" or "stdout".
  TORCH_ARG(std::string, stream) = "stderr";
  // C++ only: write to this stream instead (it must outlive the logger).
  TORCH_ARG(OutputStream, output) = nullptr;
  // Print on rank 0 only; false: every rank prints.
  TORCH_ARG(bool, rank_zero_only) = true;
};

class ConsoleLogger : public LoggerDestination {
 public:
  explicit ConsoleLogger(ConsoleLoggerOptions options = {});

  void log_metrics(const Metrics& metrics, int64_t step) override;
  void log_hyperparameters(const Hyperparameters& hyperparameters) override;

  const ConsoleLoggerOptions& options() const { return options_; }

 protected:
  void on_event(Event event, State& state, Logger& logger) override;
  void on_fit_start(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;
  void on_eval_standalone_start(State& state, Logger& logger) override;
  void on_eval_start(State& state, Logger& logger) override;
  void on_eval_batch_end(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;

 private:
  void print_hyperparameters();
  void print(const std::string& progress, const std::string& prefix);
  std::string train_progress(const State& state) const;

  ConsoleLoggerOptions options_;
  bool active_ = true;  // false on ranks other than 0 with rank_zero_only
  ConsoleOutput output_;
  int64_t last_logged_batch_ = 0;
  int64_t eval_batches_ = 0;
  Metrics logged_metrics_;
  Hyperparameters hyperparameters_;
  bool hyperparameters_printed_ = false;
};

}  // namespace tempo
