#include "tempo/callbacks/speed_monitor.h"

#include <fmt/format.h>

#include "tempo/callbacks/logger.h"
#include "tempo/errors/error.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {

SpeedMonitor::SpeedMonitor(int64_t window_size) : window_size_(window_size) {
  if (window_size_ < 1) throw ConfigError(fmt::format("SpeedMonitor: window_size is {}: expected 1 or more", window_size_));
}

void SpeedMonitor::on_batch_end(State& state, Logger& logger) {
  const double train_wct = state.timestamp.total_wct();
  history_.emplace_back(state.timestamp.sample(), train_wct);
  token_history_.push_back(state.timestamp.token());
  while (static_cast<int64_t>(history_.size()) > window_size_ + 1) history_.pop_front();
  while (token_history_.size() > history_.size()) token_history_.pop_front();
  Metrics metrics;
  if (static_cast<int64_t>(history_.size()) == window_size_ + 1) {
    const double elapsed = history_.back().second - history_.front().second;
    if (elapsed > 0) {
      metrics["throughput/batches_per_sec"] = static_cast<double>(window_size_) / elapsed;
      metrics["throughput/samples_per_sec"] =
          static_cast<double>(history_.back().first - history_.front().first) / elapsed;
      // Composer logs tokens/s only for data that counts tokens.
      const int64_t tokens = token_history_.back() - token_history_.front();
      if (tokens > 0) metrics["throughput/tokens_per_sec"] = static_cast<double>(tokens) / elapsed;
    }
  }
  metrics["wall_clock/train"] = train_wct;
  metrics["wall_clock/val"] = total_eval_wct_;
  metrics["wall_clock/total"] = train_wct + total_eval_wct_;
  logger.log_metrics(metrics);
}

void SpeedMonitor::on_eval_start(State&, Logger&) { eval_start_ = std::chrono::steady_clock::now(); }

void SpeedMonitor::on_eval_end(State&, Logger&) {
  if (!eval_start_) return;
  total_eval_wct_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - *eval_start_).count();
  eval_start_.reset();
}

c10::IValue SpeedMonitor::state_dict() const {
  c10::List<int64_t> samples;
  c10::List<double> seconds;
  c10::List<int64_t> tokens;
  for (const auto& [s, t] : history_) {
    samples.push_back(s);
    seconds.push_back(t);
  }
  for (auto t : token_history_) tokens.push_back(t);
  auto dict = new_tree_dict();
  dict.insert("history_samples", samples);
  dict.insert("history_wct", seconds);
  dict.insert("history_tokens", tokens);
  dict.insert("total_eval_wct", total_eval_wct_);
  return dict;
}

void SpeedMonitor::load_state_dict(const c10::IValue& state) {
  const std::string path = "state/callbacks/" + name();
  auto dict = tree_dict(state, path);
  const auto samples = tree_at(dict, "history_samples", path);
  const auto seconds = tree_at(dict, "history_wct", path);
  const double eval = tree_double(dict, "total_eval_wct", path);
  if (!samples.isList() || !seconds.isList() || samples.toListRef().size() != seconds.toListRef().size()) {
    throw CheckpointError(fmt::format("{}: history_samples and history_wct must be lists of one length", path));
  }
  std::deque<std::pair<int64_t, double>> history;
  const auto& s = samples.toListRef();
  const auto& t = seconds.toListRef();
  for (size_t i = 0; i < s.size(); ++i) {
    if (!s[i].isInt() || !(t[i].isDouble() || t[i].isInt())) {
      throw CheckpointError(fmt::format("{}: history entry {} is not (int, float)", path, i));
    }
    history.emplace_back(s[i].toInt(), t[i].isDouble() ? t[i].toDouble() : static_cast<double>(t[i].toInt()));
  }
  // history_tokens is absent from checkpoints written before tempo counted tokens.
  std::deque<int64_t> token_history(history.size(), 0);
  if (tree_has(dict, "history_tokens")) {
    const auto tokens = tree_at(dict, "history_tokens", path);
    if (!tokens.isList() || tokens.toListRef().size() != history.size()) {
      throw CheckpointError(fmt::format("{}: history_tokens must be a list as long as history_samples", path));
    }
    const auto& k = tokens.toListRef();
    for (size_t i = 0; i < k.size(); ++i) {
      if (!k[i].isInt()) throw CheckpointError(fmt::format("{}: history_tokens entry {} is not an int", path, i));
      token_history[i] = k[i].toInt();
    }
  }
  history_ = std::move(history);
  token_history_ = std::move(token_history);
  total_eval_wct_ = eval;
}

}  // namespace tempo
