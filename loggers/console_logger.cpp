#include "tempo/loggers/console_logger.h"

#include <fmt/format.h>

#include "tempo/errors/error.h"
#include "tempo/loggers/log_format.h"
#include "tempo/state/state.h"

namespace tempo {

namespace {

ConsoleOutput make_output(const ConsoleLoggerOptions& options) {
  if (options.output()) return ConsoleOutput(options.output(), false);
  return ConsoleOutput(options.stream(), false, "console.stream");
}

// Composer's TimeUnit names, lower case: "batch", "sample"...
std::string unit_name(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::ITERATION: return "iteration";
    case TimeUnit::EPOCH: return "epoch";
    case TimeUnit::BATCH: return "batch";
    case TimeUnit::SAMPLE: return "sample";
    case TimeUnit::TOKEN: return "token";
    case TimeUnit::DURATION: return "duration";
    case TimeUnit::SECOND: return "second";
  }
  return "?";
}

}  // namespace

ConsoleLogger::ConsoleLogger(ConsoleLoggerOptions options) : options_(std::move(options)), output_(make_output(options_)) {
  const auto& interval = options_.log_interval();
  if (interval.unit() != TimeUnit::EPOCH && interval.unit() != TimeUnit::BATCH) {
    throw ConfigError(fmt::format("console.log_interval: expected a time in ep or ba, got {}", to_string(interval)));
  }
  if (interval.count() <= 0) {
    throw ConfigError(fmt::format("console.log_interval: expected a positive interval, got {}", to_string(interval)));
  }
}

void ConsoleLogger::log_metrics(const Metrics& metrics, int64_t) {
  for (const auto& [name, value] : metrics) logged_metrics_[name] = value;
}

void ConsoleLogger::log_hyperparameters(const Hyperparameters& hyperparameters) {
  for (const auto& [key, value] : hyperparameters) hyperparameters_[key] = value;
}

void ConsoleLogger::print_hyperparameters() {
  if (hyperparameters_printed_ || !active_) return;
  hyperparameters_printed_ = true;
  output_.write(format_hyperparameters(hyperparameters_));
}

std::string ConsoleLogger::train_progress(const State& state) const {
  if (!state.max_duration) return "";
  const auto& t = state.timestamp;
  if (state.max_duration->unit() == TimeUnit::EPOCH) {
    int64_t batch = t.batch_in_epoch(), epoch = t.epoch();
    if (batch == 0 && epoch != 0) {  // just after an epoch: report its last batch
      epoch -= 1;
      batch = state.dataloader_len();
    }
    return fmt::format("[epoch={}][batch={}/{}]", epoch + 1, batch, state.dataloader_len());
  }
  const auto unit = state.max_duration->unit();
  if (unit == TimeUnit::DURATION) return fmt::format("[batch={}]", t.batch());
  return fmt::format("[{}={}/{}]", unit_name(unit), t.get(unit).count(), state.max_duration->count());
}

void ConsoleLogger::print(const std::string& progress, const std::string& prefix) {
  if (!active_) {
    logged_metrics_.clear();
    return;
  }
  std::string out = progress + (logged_metrics_.empty() ? "" : ":");
  for (const auto& [name, value] : logged_metrics_) {
    out += fmt::format("\n\t {}{}: {}", prefix, name, format_metric_value(value));
  }
  output_.write(out + "\n");
  logged_metrics_.clear();
}

void ConsoleLogger::on_event(Event, State& state, Logger&) { active_ = !options_.rank_zero_only() || state.rank == 0; }

void ConsoleLogger::on_fit_start(State&, Logger&) { print_hyperparameters(); }

void ConsoleLogger::on_eval_standalone_start(State&, Logger&) { print_hyperparameters(); }

void ConsoleLogger::on_batch_end(State& state, Logger&) {
  const int64_t batch = state.timestamp.batch();
  const auto& interval = options_.log_interval();
  if (interval.unit() == TimeUnit::BATCH && (batch % interval.count() == 0 || last_logged_batch_ == 0)) {
    print(train_progress(state), "Train ");
    last_logged_batch_ = batch;
  }
}

void ConsoleLogger::on_epoch_end(State& state, Logger&) {
  const auto& interval = options_.log_interval();
  if (interval.unit() == TimeUnit::EPOCH &&
      (state.timestamp.epoch() % interval.count() == 0 || last_logged_batch_ == 0)) {
    print(train_progress(state), "Train ");
    last_logged_batch_ = state.timestamp.batch();
  }
}

void ConsoleLogger::on_fit_end(State& state, Logger&) {
  // What the last interval left, unless it was just printed.
  if (last_logged_batch_ != state.timestamp.batch()) {
    print(train_progress(state), "Train ");
    last_logged_batch_ = state.timestamp.batch();
  }
  logged_metrics_.clear();
}

void ConsoleLogger::on_eval_start(State&, Logger&) {
  print_hyperparameters();
  logged_metrics_.clear();  // training's metrics are not this evaluation's
  eval_batches_ = 0;
}

void ConsoleLogger::on_eval_batch_end(State&, Logger&) { ++eval_batches_; }

void ConsoleLogger::on_eval_end(State&, Logger&) {
  // The evaluator's label, from the names of its metrics (metrics/<label>/<name>).
  std::string label = "eval";
  for (const auto& [name, value] : logged_metrics_) {
    const auto end = name.find('/', 8);
    if (name.compare(0, 8, "metrics/") == 0 && end != std::string::npos && end > 8) {
      label = name.substr(8, end - 8);
      break;
    }
  }
  print(fmt::format("[Eval batch={}/{}] Eval on {} data", eval_batches_, eval_batches_, label), "Eval ");
}

}  // namespace tempo
