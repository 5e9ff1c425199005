#include "callbacks/checkpoint_saver.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "errors/error.h"
#include "serialization/atomic_file.h"
#include "serialization/checkpoint_file.h"
#include "state/checkpoint_tree.h"
#include "state/state.h"
#include "state/tree.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

void check_relative_pattern(const std::string& pattern, const std::string& option) {
  if (!pattern.empty() && pattern.front() == '/') {
    throw ConfigError(fmt::format("{} '{}' is absolute: it must name a file inside the save folder", option, pattern));
  }
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The pid in an AtomicFile temporary's name ".tmp.<name>.<pid>.<n>", or -1 when `name` is not one.
pid_t temporary_owner(const std::string& name) {
  const std::string prefix = ".tmp.";
  if (name.rfind(prefix, 0) != 0) return -1;
  const auto last = name.rfind('.');
  if (last == std::string::npos || last <= prefix.size() || !all_digits(name.substr(last + 1))) return -1;
  const auto before = name.rfind('.', last - 1);
  if (before == std::string::npos || before < prefix.size()) return -1;
  const auto pid_text = name.substr(before + 1, last - before - 1);
  if (!all_digits(pid_text) || pid_text.size() > 10) return -1;
  const long long pid = std::stoll(pid_text);
  if (pid <= 0 || pid > INT_MAX) return -1;  // kill(0 or -1, 0) would mean process groups: never
  return static_cast<pid_t>(pid);
}

// Whether the temporary's writer may still be writing it. This process has no save in flight
// when it asks (FIT_START), so its own are leftovers. EPERM means alive under another user.
bool writer_may_be_alive(pid_t pid) {
  if (pid == ::getpid()) return false;
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

CheckpointSaver::CheckpointSaver(CheckpointSaverOptions options)
    : options_(std::move(options)),
      folder_(options_.folder(), "save_folder"),
      filename_(options_.filename(), "save_filename"),
      latest_filename_(options_.latest_filename(), "save_latest_filename"),
      should_save_(options_.save_interval().make_scheduler(
          /*include_end_of_training=*/true, /*checkpoint_events=*/true,
          {Event::BATCH_CHECKPOINT, Event::EPOCH_CHECKPOINT, Event::ITERATION_CHECKPOINT})),
      best_filename_(options_.best_filename(), "best_filename") {
  if (options_.folder().empty()) throw ConfigError("save_folder is empty: name the folder checkpoints go to");
  if (options_.filename().empty()) throw ConfigError("save_filename is empty");
  check_relative_pattern(options_.filename(), "save_filename");
  check_relative_pattern(options_.latest_filename(), "save_latest_filename");
  if (options_.num_checkpoints_to_keep() == 0 || options_.num_checkpoints_to_keep() < -1) {
    throw ConfigError(fmt::format("save_num_checkpoints_to_keep is {}: expected -1 (keep all) or a positive count",
                                  options_.num_checkpoints_to_keep()));
  }
  if (!options_.best_metric().empty()) {
    const auto& metric = options_.best_metric();
    const auto slash = metric.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == metric.size()) {
      throw ConfigError(fmt::format("best_metric '{}' is not '<dataloader label>/<metric name>' (e.g. 'eval/Accuracy')",
                                    metric));
    }
    if (options_.best_filename().empty()) throw ConfigError("best_filename is empty while best_metric is set");
    check_relative_pattern(options_.best_filename(), "best_filename");
    best_monitor_.emplace(metric.substr(slash + 1), metric.substr(0, slash), options_.best_comparator(), "best_metric");
  }
}

std::string CheckpointSaver::inside_folder(const std::string& folder, const std::string& name,
                                           const std::string& option) const {
  const fs::path relative(name);
  if (relative.is_absolute() || relative.empty()) {
    throw CheckpointError(fmt::format("{} produced '{}', which is not a relative path inside the save folder", option,
                                      name));
  }
  for (const auto& part : relative) {
    if (part == "..") {
      throw CheckpointError(fmt::format("{} produced '{}', which would leave the save folder '{}'", option, name,
                                        folder));
    }
  }
  return (fs::path(folder) / relative).lexically_normal().string();
}

void CheckpointSaver::on_fit_start(State& state, Logger&) {
  fit_ended_ = false;
  best_pending_ = false;
  // Rebuild the list from the folder, so rotation also counts what earlier runs wrote.
  const fs::path folder = folder_.format(state);
  std::error_code error;
  if (!fs::is_directory(folder, error)) return;
  remove_stale_temporaries(folder.string());
  const auto best = best_monitor_ ? inside_folder(folder.string(), best_filename_.format(state), "best_filename") : std::string();
  const auto matcher = filename_.matcher(state);
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (auto it = fs::recursive_directory_iterator(folder, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
    const auto relative = fs::relative(it->path(), folder, error).generic_string();
    if (relative.rfind(".tmp", 0) == 0 || it->path().filename().string().rfind(".tmp", 0) == 0) continue;
    if (it->path().lexically_normal().string() == best) continue;  // the best checkpoint: never rotated
    if (std::regex_match(relative, matcher)) found.emplace_back(fs::last_write_time(it->path(), error), it->path().string());
  }
  std::sort(found.begin(), found.end());
  for (const auto& [time, path] : found) {
    if (std::find(saved_.begin(), saved_.end(), path) == saved_.end()) saved_.push_back(path);
  }
  if (!options_.overwrite() && state.timestamp.batch() == 0 && !found.empty()) {
    throw CheckpointError(fmt::format(
        "save folder '{}' already holds checkpoints of run '{}' (e.g. '{}'); set save_overwrite to replace them, "
        "autoresume to continue that run, or choose another save_folder or run_name",
        folder.string(), state.run_name, found.back().second));
  }
}

void CheckpointSaver::on_batch_checkpoint(State& state, Logger&) {
  maybe_save(state, Event::BATCH_CHECKPOINT);
  keep_best(state);
}
void CheckpointSaver::on_epoch_checkpoint(State& state, Logger&) {
  maybe_save(state, Event::EPOCH_CHECKPOINT);
  keep_best(state);
}
void CheckpointSaver::on_iteration_checkpoint(State& state, Logger&) {
  maybe_save(state, Event::ITERATION_CHECKPOINT);
  keep_best(state);
}

void CheckpointSaver::on_eval_end(State& state, Logger&) {
  if (!best_monitor_ || state.dataloader_label != best_monitor_->dataloader_label()) return;
  const double value = best_monitor_->value(state);
  if (best_value_ && !best_monitor_->better(value, *best_value_)) return;
  if (!best_value_ && std::isnan(value)) return;
  best_value_ = value;
  best_batch_ = state.timestamp.batch();
  best_path_ = inside_folder(folder_.format(state), best_filename_.format(state), "best_filename");
  best_pending_ = true;  // the checkpoint event of this batch (or EVAL_AFTER_ALL after FIT_END) makes it
}

void CheckpointSaver::on_eval_after_all(State& state, Logger&) {
  // The evaluation after FIT_END has no checkpoint event after it.
  if (fit_ended_) keep_best(state);
}

void CheckpointSaver::keep_best(const State& state) {
  if (!best_pending_ || best_batch_ != state.timestamp.batch()) return;
  best_pending_ = false;
  const auto best = best_path_;
  try {
    std::error_code error;
    fs::create_directories(fs::path(best).parent_path(), error);
    if (last_saved_batch_ == state.timestamp.batch() && !saved_.empty() && fs::exists(saved_.back(), error)) {
      atomic_hard_link(saved_.back(), best);
    } else {
      write_checkpoint(make_checkpoint_tree(state, options_.weights_only()), best);
    }
  } catch (const CheckpointError& e) {
    if (!options_.ignore_errors()) throw;
    std::fprintf(stderr, "tempo: warning: the best checkpoint of batch %lld was not kept (save_ignore_errors is set: "
                         "training continues): %s\n",
                 static_cast<long long>(state.timestamp.batch()), e.what());
  }
}

c10::IValue CheckpointSaver::state_dict() const {
  if (!best_monitor_) return c10::IValue();
  auto dict = new_tree_dict();
  dict.insert("best_value", best_value_ ? c10::IValue(*best_value_) : c10::IValue());
  dict.insert("best_batch", best_batch_);
  dict.insert("best_checkpoint", best_path_);
  return dict;
}

void CheckpointSaver::load_state_dict(const c10::IValue& state) {
  if (!best_monitor_) return;
  const std::string path = "state/callbacks/" + name();
  auto dict = tree_dict(state, path);
  std::optional<double> value;
  if (!tree_at(dict, "best_value", path).isNone()) value = tree_double(dict, "best_value", path);
  const auto batch = tree_int(dict, "best_batch", path);
  const auto checkpoint = tree_string(dict, "best_checkpoint", path);
  best_value_ = value;
  best_batch_ = batch;
  best_path_ = checkpoint;
  best_pending_ = false;
}

void CheckpointSaver::on_fit_end(State& state, Logger&) {
  // A stop requested after this batch's checkpoint event still gets its final checkpoint.
  if (state.stop_requested() && state.timestamp.batch() != last_saved_batch_ && state.timestamp.batch() > 0) {
    save(state);
  }
  fit_ended_ = true;
}

void CheckpointSaver::maybe_save(State& state, Event event) {
  if (should_save_(state, event) && state.timestamp.batch() != last_saved_batch_) save(state);
}

std::string CheckpointSaver::save(const State& state) {
  // Mistakes in the names are refused whatever ignore_errors says: they are not faults of the disk.
  const auto folder = folder_.format(state);
  const auto path = inside_folder(folder, filename_.format(state), "save_filename");
  const auto link =
      latest_filename_.empty() ? std::string() : inside_folder(folder, latest_filename_.format(state), "save_latest_filename");
  std::error_code error;
  if (!options_.overwrite() && fs::exists(path, error)) {
    // A damaged file of the same name (autoresume skipped it) is replaced: it holds nothing to keep.
    bool damaged = false;
    try {
      read_checkpoint(path);
    } catch (const CheckpointError& e) {
      damaged = true;
      std::fprintf(stderr, "tempo: warning: replacing damaged checkpoint '%s': %s\n", path.c_str(), e.what());
    }
    if (!damaged) {
      throw CheckpointError(fmt::format("checkpoint '{}' already exists and save_overwrite is off", path));
    }
  }
  bool written = false;
  try {
    const auto parent = fs::path(path).parent_path();
    fs::create_directories(parent, error);
    if (error) {
      throw CheckpointError(fmt::format("cannot write checkpoint '{}': cannot create its folder '{}': {}", path,
                                        parent.string(), error.message()));
    }
    // On any failure the temporary is removed; nothing else has changed yet.
    write_checkpoint(make_checkpoint_tree(state, options_.weights_only()), path);
    written = true;
    saved_.erase(std::remove(saved_.begin(), saved_.end(), path), saved_.end());
    saved_.push_back(path);
    last_saved_batch_ = state.timestamp.batch();
    if (!link.empty()) {
      const auto link_parent = fs::path(link).parent_path();
      fs::create_directories(link_parent, error);
      if (error) {
        throw CheckpointError(fmt::format("cannot create link '{}' -> '{}': cannot create its folder '{}': {}", link,
                                          path, link_parent.string(), error.message()));
      }
      atomic_symlink(fs::path(path).lexically_relative(link_parent).string(), link);
    }
  } catch (const CheckpointError& e) {
    // Rotation has not run: every older checkpoint is still there, and latest still names one.
    if (!options_.ignore_errors()) throw;
    std::fprintf(stderr,
                 "tempo: warning: the checkpoint of batch %lld %s (save_ignore_errors is set: training continues): %s\n",
                 static_cast<long long>(state.timestamp.batch()),
                 written ? "was written but the latest link was not moved to it" : "was not saved", e.what());
    return written ? path : std::string();
  }
  rotate(path);
  return path;
}

void CheckpointSaver::remove_stale_temporaries(const std::string& folder) const {
  std::error_code error;
  std::vector<std::pair<std::string, pid_t>> stale;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const auto owner = temporary_owner(it->path().filename().string());
    std::error_code kind;
    if (owner < 0 || it->is_directory(kind)) continue;  // a temporary is a file or a link, never a folder
    if (!writer_may_be_alive(owner)) stale.emplace_back(it->path().string(), owner);
  }
  for (const auto& [path, owner] : stale) {
    std::error_code removed;
    fs::remove(path, removed);
    if (removed) {
      std::fprintf(stderr, "tempo: warning: cannot remove '%s', left by an interrupted save of process %d: %s\n",
                   path.c_str(), static_cast<int>(owner), removed.message().c_str());
    } else {
      std::fprintf(stderr, "tempo: removed '%s', left by an interrupted save of process %d\n", path.c_str(),
                   static_cast<int>(owner));
    }
  }
}

void CheckpointSaver::rotate(const std::string& newest) {
  const auto keep = options_.num_checkpoints_to_keep();
  if (keep < 0) return;
  while (static_cast<int64_t>(saved_.size()) > keep) {
    const auto oldest = saved_.front();
    saved_.erase(saved_.begin());
    if (oldest == newest) continue;
    std::error_code error;
    fs::remove(oldest, error);  // already gone is fine: the goal is that it is not there
  }
}

}  // namespace tempo
