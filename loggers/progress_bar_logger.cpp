#include "tempo/loggers/progress_bar_logger.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <filesystem>

#include "tempo/errors/error.h"
#include "tempo/loggers/log_format.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {

namespace {

ConsoleOutput make_output(const ProgressBarLoggerOptions& options) {
  if (options.output()) return ConsoleOutput(options.output(), options.force_terminal());
  return ConsoleOutput(options.stream(), options.force_terminal(), "progress_bar.stream");
}

// Whether max_duration's unit gets one bar for the whole run (ba, sp, tok) rather than one per epoch.
bool whole_run_bar(const State& state) {
  if (!state.max_duration) return false;
  const auto unit = state.max_duration->unit();
  return unit == TimeUnit::BATCH || unit == TimeUnit::SAMPLE || unit == TimeUnit::TOKEN;
}

int64_t timestamp_value(const Timestamp& t, const std::string& key) {
  if (key == "batch_in_epoch") return t.batch_in_epoch();
  if (key == "batch") return t.batch();
  if (key == "sample") return t.sample();
  if (key == "token") return t.token();
  return -1;
}

}  // namespace

ProgressBarLogger::ProgressBarLogger(ProgressBarLoggerOptions options)
    : options_(std::move(options)), output_(make_output(options_)) {
  if (!(options_.refresh_interval_s() >= 0)) {
    throw ConfigError(fmt::format("progress_bar.refresh_interval_s: expected >= 0, got {}", options_.refresh_interval_s()));
  }
  if (!(options_.plain_interval_percent() > 0)) {
    throw ConfigError(
        fmt::format("progress_bar.plain_interval_percent: expected > 0, got {}", options_.plain_interval_percent()));
  }
  if (!(options_.plain_interval_s() > 0)) {
    throw ConfigError(fmt::format("progress_bar.plain_interval_s: expected > 0, got {}", options_.plain_interval_s()));
  }
  if (!(options_.checkpoint_min_mb() >= 0)) {
    throw ConfigError(fmt::format("progress_bar.checkpoint_min_mb: expected >= 0, got {}", options_.checkpoint_min_mb()));
  }
  if (options_.bar_width() < 1) {
    throw ConfigError(fmt::format("progress_bar.bar_width: expected >= 1, got {}", options_.bar_width()));
  }
}

ProgressBarLogger::~ProgressBarLogger() {
  if (line_open_) output_.write("\n");
}

void ProgressBarLogger::log_metrics(const Metrics& metrics, int64_t) {
  if (auto* d = current()) d->bar.log(metrics);
}

void ProgressBarLogger::log_hyperparameters(const Hyperparameters& hyperparameters) {
  for (const auto& [key, value] : hyperparameters) hyperparameters_[key] = value;
}

void ProgressBarLogger::log_checkpoint_progress(const CheckpointProgress& progress) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (!active_ || static_cast<double>(progress.total) < options_.checkpoint_min_mb() * kMiB) return;
  if (!checkpoint_) {
    if (line_open_) {
      output_.write("\n");
      line_open_ = false;
    }
    const auto name = std::filesystem::path(progress.path).filename().string();
    start(checkpoint_, ProgressBar("checkpoint", progress.action + " " + name,
                                   static_cast<int64_t>(std::ceil(static_cast<double>(progress.total) / kMiB)), "MB", "",
                                   /*is_train=*/false));
  }
  checkpoint_->bar.update_to(static_cast<int64_t>(std::ceil(static_cast<double>(progress.done) / kMiB)));
  if (progress.done >= progress.total) {
    close(checkpoint_);
  } else {
    draw(*checkpoint_, /*force=*/false);
  }
}

void ProgressBarLogger::print_hyperparameters() {
  if (hyperparameters_printed_) return;
  hyperparameters_printed_ = true;
  const auto text = format_hyperparameters(hyperparameters_);
  if (text.empty()) return;
  if (line_open_) {
    output_.write("\n");
    line_open_ = false;
  }
  output_.write(text);
}

ProgressBar ProgressBarLogger::make_bar(const State& state, bool is_train) const {
  const auto& t = state.timestamp;
  const std::string label = is_train ? "train" : "eval";
  if (!whole_run_bar(state)) {
    if (is_train) {
      return ProgressBar(label, fmt::format("Epoch {:3d}", t.epoch()), state.dataloader_len(), "ba", "batch_in_epoch",
                         true, t.batch_in_epoch());
    }
    // Evaluation after an epoch refers to the model of the epoch just finished (Composer's n - 1).
    const auto desc = train_ ? fmt::format("Batch {:3d}", t.batch())
                             : fmt::format("Epoch {:3d}", t.epoch() > 0 ? t.epoch() - 1 : 0);
    return ProgressBar(label, desc, -1, "ba", "", false);
  }
  const auto unit = state.max_duration->unit();
  const std::string key = unit == TimeUnit::BATCH ? "batch" : unit == TimeUnit::SAMPLE ? "sample" : "token";
  if (is_train) {
    return ProgressBar(label, std::string(12, ' '), state.max_duration->count(), to_string(unit), key, true,
                       timestamp_value(t, key));
  }
  std::string name = key;
  name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return ProgressBar(label, fmt::format("{:<6} {:5d}", name, timestamp_value(t, key)), -1, "ba", "", false);
}

int64_t ProgressBarLogger::plain_step(const ProgressBar& bar) const {
  const auto percent = bar.percent();
  return percent < 0 ? 0 : static_cast<int64_t>(std::floor(static_cast<double>(percent) / options_.plain_interval_percent()));
}

void ProgressBarLogger::start(std::optional<Drawn>& slot, ProgressBar bar) {
  slot.emplace(std::move(bar));
  // A terminal draws at the next update; plain lines wait for progress or plain_interval_s.
  slot->last_draw = output_.is_terminal() ? ProgressBar::Clock::time_point{} : ProgressBar::Clock::now();
  slot->last_plain_step = plain_step(slot->bar);
  slot->last_plain_n = slot->bar.n();
  slot->last_plain_metrics = slot->bar.metrics();
}

void ProgressBarLogger::ensure_train_bar(const State& state) {
  if (train_) return;
  if (!whole_run_bar(state) && state.dataloader_len() <= 0) return;
  start(train_, make_bar(state, /*is_train=*/true));
  if (output_.is_terminal()) draw(*train_, /*force=*/true);
}

void ProgressBarLogger::draw(Drawn& d, bool force) {
  const auto now = ProgressBar::Clock::now();
  const double since = std::chrono::duration<double>(now - d.last_draw).count();
  if (output_.is_terminal()) {
    if (!force && since < options_.refresh_interval_s()) return;
    output_.write("\r" + d.bar.render(true, options_.bar_width(), now) + "\x1b[K");
    line_open_ = true;
    d.last_draw = now;
    return;
  }
  const int64_t step = plain_step(d.bar);
  if (!force && step <= d.last_plain_step && since < options_.plain_interval_s()) return;
  output_.write(d.bar.render(false, options_.bar_width(), now) + "\n");
  d.last_draw = now;
  d.last_plain_step = step;
  d.last_plain_n = d.bar.n();
  d.last_plain_metrics = d.bar.metrics();
}

void ProgressBarLogger::close(std::optional<Drawn>& d) {
  if (!d) return;
  if (output_.is_terminal()) {
    draw(*d, /*force=*/true);
    output_.write("\n");
    line_open_ = false;
  } else if (d->bar.n() != d->last_plain_n || d->bar.metrics() != d->last_plain_metrics) {
    draw(*d, /*force=*/true);  // unless its last line already said all of it
  }
  d.reset();
}

void ProgressBarLogger::on_event(Event, State& state, Logger&) { active_ = state.local_rank == 0; }

void ProgressBarLogger::on_fit_start(State& state, Logger&) {
  if (!active_) return;
  print_hyperparameters();
  eval_.reset();
  // A run resumed mid-epoch, or one bar for the whole run: EPOCH_START may not come first.
  if (whole_run_bar(state) || state.timestamp.batch_in_epoch() > 0) ensure_train_bar(state);
}

void ProgressBarLogger::on_epoch_start(State& state, Logger&) {
  if (active_) ensure_train_bar(state);
}

void ProgressBarLogger::on_batch_end(State& state, Logger&) {
  if (!active_) return;
  ensure_train_bar(state);
  if (!train_) return;
  train_->bar.update_to(timestamp_value(state.timestamp, train_->bar.timestamp_key()));
  draw(*train_, /*force=*/false);
}

void ProgressBarLogger::on_epoch_end(State& state, Logger&) {
  if (active_ && !whole_run_bar(state)) close(train_);
}

void ProgressBarLogger::on_fit_end(State&, Logger&) {
  if (!active_) return;
  close(eval_);
  close(train_);
}

void ProgressBarLogger::on_eval_standalone_start(State&, Logger&) {
  if (active_) print_hyperparameters();
}

void ProgressBarLogger::on_eval_start(State& state, Logger&) {
  if (!active_) return;
  print_hyperparameters();
  start(eval_, make_bar(state, /*is_train=*/false));
}

void ProgressBarLogger::on_eval_batch_end(State&, Logger&) {
  if (!active_ || !eval_) return;
  eval_->bar.increment();
  draw(*eval_, /*force=*/false);
}

void ProgressBarLogger::on_eval_end(State&, Logger&) {
  if (active_) close(eval_);
}

c10::IValue ProgressBarLogger::state_dict() const {
  auto tree = new_tree_dict();
  tree.insert("train_pbar", train_ ? train_->bar.state_dict() : c10::IValue());
  tree.insert("eval_pbar", eval_ ? eval_->bar.state_dict() : c10::IValue());
  return tree;
}

void ProgressBarLogger::load_state_dict(const c10::IValue& state) {
  const std::string path = "state/callbacks/" + name();
  const auto dict = tree_dict(state, path);
  const auto train = tree_at(dict, "train_pbar", path);
  train_.reset();
  eval_.reset();
  if (train.isNone()) return;
  start(train_, ProgressBar::from_state_dict(train, tree_join(path, "train_pbar")));
}

}  // namespace tempo
