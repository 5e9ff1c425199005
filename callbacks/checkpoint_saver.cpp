#include "callbacks/checkpoint_saver.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "errors/error.h"
#include "serialization/atomic_file.h"
#include "serialization/checkpoint_file.h"
#include "state/checkpoint_tree.h"
#include "state/state.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

void check_relative_pattern(const std::string& pattern, const std::string& option) {
  if (!pattern.empty() && pattern.front() == '/') {
    throw ConfigError(fmt::format("{} '{}' is absolute: it must name a file inside the save folder", option, pattern));
  }
}

}  // namespace

CheckpointSaver::CheckpointSaver(CheckpointSaverOptions options)
    : options_(std::move(options)),
      folder_(options_.folder(), "save_folder"),
      filename_(options_.filename(), "save_filename"),
      latest_filename_(options_.latest_filename(), "save_latest_filename"),
      should_save_(options_.save_interval().make_scheduler(
          /*include_end_of_training=*/true, /*checkpoint_events=*/true,
          {Event::BATCH_CHECKPOINT, Event::EPOCH_CHECKPOINT, Event::ITERATION_CHECKPOINT})) {
  if (options_.folder().empty()) throw ConfigError("save_folder is empty: name the folder checkpoints go to");
  if (options_.filename().empty()) throw ConfigError("save_filename is empty");
  check_relative_pattern(options_.filename(), "save_filename");
  check_relative_pattern(options_.latest_filename(), "save_latest_filename");
  if (options_.num_checkpoints_to_keep() == 0 || options_.num_checkpoints_to_keep() < -1) {
    throw ConfigError(fmt::format("save_num_checkpoints_to_keep is {}: expected -1 (keep all) or a positive count",
                                  options_.num_checkpoints_to_keep()));
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
  // Rebuild the list from the folder, so rotation also counts what earlier runs wrote.
  const fs::path folder = folder_.format(state);
  std::error_code error;
  if (!fs::is_directory(folder, error)) return;
  const auto matcher = filename_.matcher(state);
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (auto it = fs::recursive_directory_iterator(folder, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
    const auto relative = fs::relative(it->path(), folder, error).generic_string();
    if (relative.rfind(".tmp", 0) == 0 || it->path().filename().string().rfind(".tmp", 0) == 0) continue;
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

void CheckpointSaver::on_batch_checkpoint(State& state, Logger&) { maybe_save(state, Event::BATCH_CHECKPOINT); }
void CheckpointSaver::on_epoch_checkpoint(State& state, Logger&) { maybe_save(state, Event::EPOCH_CHECKPOINT); }
void CheckpointSaver::on_iteration_checkpoint(State& state, Logger&) {
  maybe_save(state, Event::ITERATION_CHECKPOINT);
}

void CheckpointSaver::on_fit_end(State& state, Logger&) {
  // A stop requested after this batch's checkpoint event still gets its final checkpoint.
  if (state.stop_requested() && state.timestamp.batch() != last_saved_batch_ && state.timestamp.batch() > 0) {
    save(state);
  }
}

void CheckpointSaver::maybe_save(State& state, Event event) {
  if (should_save_(state, event) && state.timestamp.batch() != last_saved_batch_) save(state);
}

std::string CheckpointSaver::save(const State& state) {
  const auto folder = folder_.format(state);
  const auto path = inside_folder(folder, filename_.format(state), "save_filename");
  std::error_code error;
  if (!options_.overwrite() && fs::exists(path, error)) {
    throw CheckpointError(fmt::format("checkpoint '{}' already exists and save_overwrite is off", path));
  }
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) {
    throw CheckpointError(fmt::format("cannot create checkpoint folder '{}': {}", fs::path(path).parent_path().string(),
                                      error.message()));
  }
  write_checkpoint(make_checkpoint_tree(state, options_.weights_only()), path);

  if (!latest_filename_.empty()) {
    const auto link = inside_folder(folder, latest_filename_.format(state), "save_latest_filename");
    fs::create_directories(fs::path(link).parent_path(), error);
    const auto target = fs::path(path).lexically_relative(fs::path(link).parent_path());
    atomic_symlink(target.string(), link);
  }
  saved_.erase(std::remove(saved_.begin(), saved_.end(), path), saved_.end());
  saved_.push_back(path);
  last_saved_batch_ = state.timestamp.batch();
  rotate(path);
  return path;
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
