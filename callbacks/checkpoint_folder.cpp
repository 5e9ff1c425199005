#include "tempo/callbacks/checkpoint_folder.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/state/state.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

// `pattern` cut at every '/' outside braces ("{epoch:/>3}" keeps its '/').
std::vector<std::string> split_pattern(const std::string& pattern) {
  std::vector<std::string> parts(1);
  int depth = 0;
  for (const char c : pattern) {
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == '/' && depth == 0) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, size_t from, const std::string& last) {
  std::string joined;
  for (size_t i = from; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    joined += parts[i] + "/";
  }
  return joined + last;
}

// Whether the writer of a temporary may still be writing it. This process has no save in flight
// when it asks, so its own are leftovers. EPERM means alive under another user.
bool writer_may_be_alive(int64_t pid) {
  if (pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Newest first (modification time; among equals, the one a latest link names, then the higher batch).
void sort_newest_first(std::vector<CheckpointFolder::Entry>& found) {
  using Entry = CheckpointFolder::Entry;
  std::stable_sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) {
    if (a.time != b.time) return a.time > b.time;
    if (a.linked != b.linked) return a.linked;
    if (a.batch != b.batch) return a.batch > b.batch;
    return a.path > b.path;
  });
}

}  // namespace

CheckpointFolder::CheckpointFolder(std::string folder, std::string filename, std::string latest_filename)
    : folder_(folder, "save_folder"),
      filename_(filename, "save_filename"),
      latest_filename_(latest_filename, "save_latest_filename") {
  if (folder.empty()) throw ConfigError("save_folder is empty: name the folder checkpoints go to");
  if (filename.empty()) throw ConfigError("save_filename is empty");
  const auto parts = split_pattern(folder);
  for (const auto& part : parts) folder_parts_.emplace_back(part, "save_folder");
  while (fixed_parts_ < folder_parts_.size() && !folder_parts_[fixed_parts_].varies_during_run()) ++fixed_parts_;
  below_root_.emplace(join(parts, fixed_parts_, filename), "save_filename");
  if (!latest_filename.empty()) latest_below_root_.emplace(join(parts, fixed_parts_, latest_filename), "save_latest_filename");
  check_file_pattern(filename_, "save_filename");
  if (!latest_filename.empty()) {
    check_file_pattern(latest_filename_, "save_latest_filename");
    State sample;
    if (!latest_filename_.varies_during_run() && !filename_.varies_during_run() &&
        latest_filename_.format(sample) == filename_.format(sample)) {
      throw ConfigError(fmt::format("save_latest_filename '{}' is also save_filename: the latest link would replace "
                                    "the checkpoint it points at; give them different names", latest_filename));
    }
  }
}

void CheckpointFolder::check_file_pattern(const NameFormat& pattern, const std::string& option) {
  const auto& text = pattern.pattern();
  if (!text.empty() && text.front() == '/') {
    throw ConfigError(fmt::format("{} '{}' is absolute: it must name a file inside the save folder", option, text));
  }
  // Rendered once (for a run at its start, as the first save would see it but for the numbers),
  // so that a pattern whose own text leaves the folder or names no file is refused before
  // anything is written.
  State sample;
  sample.run_name = "run";
  const auto name = pattern.format(sample);
  const fs::path path(name);
  if (name.empty() || name.back() == '/' || path.filename() == "." || path.filename() == "..") {
    throw ConfigError(fmt::format("{} '{}' gives '{}', which names a folder, not a checkpoint file; end it in a file "
                                  "name, e.g. ep{{epoch}}-ba{{batch}}-rank{{rank}}.pt", option, text, name));
  }
  for (const auto& part : path) {
    if (part == "..") {
      throw ConfigError(fmt::format("{} '{}' gives '{}', whose '..' would leave the save folder", option, text, name));
    }
    // NAME_MAX on Linux file systems; the numbers of a later save only make it longer.
    if (part.string().size() > 255) {
      throw ConfigError(fmt::format("{} '{}' gives a name of {} bytes; a file or folder name has at most 255", option,
                                    text, part.string().size()));
    }
  }
}

void CheckpointFolder::check_names_differ(bool may_repeat) const {
  if (may_repeat || varies_during_run()) return;
  throw ConfigError(fmt::format(
      "save_filename '{}' in save_folder '{}' names every checkpoint of the run alike, so the second save would find "
      "the first and fail: put {{batch}} in it (Composer's default is ep{{epoch}}-ba{{batch}}-rank{{rank}}.pt), set "
      "save_overwrite to replace the one file each time, or save once (save_interval: 1dur)",
      filename_.pattern(), folder_.pattern()));
}

bool CheckpointFolder::varies_during_run() const {
  return filename_.varies_during_run() ||
         std::any_of(folder_parts_.begin(), folder_parts_.end(), [](const NameFormat& f) { return f.varies_during_run(); });
}

std::string CheckpointFolder::folder(const State& state) const { return folder_.format(state); }

std::string CheckpointFolder::root(const State& state) const {
  fs::path root = folder_.pattern().front() == '/' ? fs::path("/") : fs::path();
  for (size_t i = 0; i < fixed_parts_; ++i) {
    const auto part = folder_parts_[i].format(state);
    if (!part.empty()) root /= part;
  }
  if (root.empty()) root = ".";
  return root.lexically_normal().string();
}

std::string CheckpointFolder::inside(const State& state, const std::string& name, const std::string& option) const {
  const auto folder = this->folder(state);
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

std::string CheckpointFolder::checkpoint_path(const State& state) const {
  return inside(state, filename_.format(state), "save_filename");
}

std::string CheckpointFolder::latest_path(const State& state) const {
  if (latest_filename_.empty()) return "";
  return inside(state, latest_filename_.format(state), "save_latest_filename");
}

namespace {

// Every entry below `root` (recursively, through the Env), as paths relative to it.
void walk(Env& env, const fs::path& root, const fs::path& relative,
          const std::function<void(const fs::path&, const Env::Child&)>& visit) {
  std::error_code error;
  for (const auto& child : env.list((root / relative).string(), error)) {
    const auto path = relative / child.name;
    visit(path, child);
    if (child.type == fs::file_type::directory) walk(env, root, path, visit);
  }
}

}  // namespace

std::vector<CheckpointFolder::Entry> CheckpointFolder::list(const State& state, const std::string& exclude) const {
  const fs::path root = this->root(state);
  std::vector<Entry> found;
  std::vector<std::string> linked;  // what the latest links below root point at
  const auto matcher = below_root_->matcher(state);
  const auto latest_matcher = latest_below_root_ ? latest_below_root_->matcher(state) : std::regex();
  walk(*state.env, root, fs::path(), [&](const fs::path& relative_path, const Env::Child& child) {
    if (is_temporary_name(child.name)) return;  // a save in flight or killed
    const auto relative = relative_path.generic_string();
    const auto full = root / relative_path;
    if (child.type == fs::file_type::symlink) {
      if (!latest_below_root_ || !std::regex_match(relative, latest_matcher)) return;
      std::error_code error;
      const fs::path target = state.env->read_link(full.string(), error);
      if (error) return;
      linked.push_back((target.is_absolute() ? target : full.parent_path() / target).lexically_normal().string());
      return;
    }
    if (child.type != fs::file_type::regular) return;
    const auto path = full.lexically_normal().string();
    if (path == exclude) return;
    const auto values = below_root_->parse(relative, state);
    if (!values) return;
    Entry entry{path, child.time, std::nullopt, false};
    const auto batch = values->find("batch");
    if (batch != values->end()) {
      try {
        entry.batch = std::stoll(batch->second);
      } catch (const std::exception&) {  // a format spec that is not decimal: the time decides
      }
    }
    found.push_back(std::move(entry));
  });
  for (auto& entry : found) {
    entry.linked = std::find(linked.begin(), linked.end(), entry.path) != linked.end();
  }
  sort_newest_first(found);
  return found;
}

std::vector<CheckpointFolder::Entry> CheckpointFolder::match(const State& state, const std::vector<ObjectInfo>& objects,
                                                             const std::string& latest_target) const {
  const auto root = this->root(state);
  const std::string prefix = root == "." ? "" : root + "/";
  std::vector<Entry> found;
  const auto now = fs::file_time_type::clock::now();
  const auto system_now = std::chrono::system_clock::now();
  for (const auto& object : objects) {
    if (object.key.compare(0, prefix.size(), prefix) != 0) continue;
    const auto relative = object.key.substr(prefix.size());
    if (is_temporary_name(fs::path(relative).filename().string())) continue;
    const auto values = below_root_->parse(relative, state);
    if (!values) continue;
    // Seconds since the epoch, carried over to the file clock (file_clock::from_sys is C++20).
    const auto time = now + std::chrono::duration_cast<fs::file_time_type::duration>(
                                std::chrono::system_clock::time_point(std::chrono::seconds(object.last_modified)) -
                                system_now);
    Entry entry{object.key, time, std::nullopt, object.key == latest_target};
    const auto batch = values->find("batch");
    if (batch != values->end()) {
      try {
        entry.batch = std::stoll(batch->second);
      } catch (const std::exception&) {
      }
    }
    found.push_back(std::move(entry));
  }
  sort_newest_first(found);
  return found;
}

void CheckpointFolder::point_latest(const std::string& path, const std::string& link, Env& env) {
  const auto link_parent = fs::path(link).parent_path();
  std::error_code error;
  env.create_directories(link_parent.string(), error);
  if (error) {
    throw CheckpointError(fmt::format("cannot create link '{}' -> '{}': cannot create its folder '{}': {}", link, path,
                                      link_parent.string(), error.message()));
  }
  atomic_symlink(fs::path(path).lexically_relative(link_parent).string(), link, env);
}

std::vector<CheckpointFolder::Removal> CheckpointFolder::remove_stale_temporaries(const State& state) const {
  const fs::path root = this->root(state);
  std::vector<std::pair<std::string, int64_t>> stale;
  walk(*state.env, root, fs::path(), [&](const fs::path& relative, const Env::Child& child) {
    const auto owner = temporary_name_writer(child.name);
    // A temporary is a file or a link, never a folder.
    if (!owner || child.type == fs::file_type::directory) return;
    if (!writer_may_be_alive(*owner)) stale.emplace_back((root / relative).string(), *owner);
  });
  std::vector<Removal> report;
  for (const auto& [path, owner] : stale) {
    const int rc = state.env->unlink(path.c_str());
    const int err = errno;
    report.push_back({path, owner, rc != 0 && err != ENOENT ? std::string(std::strerror(err)) : std::string()});
  }
  return report;
}

}  // namespace tempo
