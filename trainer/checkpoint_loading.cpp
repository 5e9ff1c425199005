#include "trainer/checkpoint_loading.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <vector>

#include "callbacks/name_format.h"
#include "errors/error.h"
#include "serialization/checkpoint_file.h"
#include "serialization/weights_file.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

CheckpointProgressFn for_path(const LoadProgressFn& progress, const std::string& path) {
  if (!progress) return {};
  return [&progress, path](uint64_t done, uint64_t total) { progress(path, done, total); };
}

}  // namespace

c10::IValue read_checkpoint_or_weights(const std::string& path, const LoadProgressFn& progress) {
  return open_weights_file(path, for_path(progress, path)).tree;
}

std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const std::string& save_folder,
                                                             const std::string& save_filename,
                                                             const std::string& save_latest_filename,
                                                             const LoadProgressFn& progress) {
  const fs::path folder = NameFormat(save_folder, "save_folder").format(state);
  std::error_code error;
  if (!fs::is_directory(folder, error)) return std::nullopt;

  // The link is a convenience, not the truth: a crash or a copy may leave it missing, dangling or
  // pointing at an older file. Every file the pattern matches is a candidate, newest first; the
  // link's target goes first only among files as new as itself.
  struct Candidate {
    fs::file_time_type time;
    bool linked;
    std::string path;
  };
  std::vector<Candidate> found;
  auto add = [&](const fs::path& file, bool linked) {
    std::error_code failed;
    const auto canonical = fs::canonical(file, failed);
    if (failed) return;
    const auto time = fs::last_write_time(canonical, failed);
    if (failed) return;
    for (auto& candidate : found) {
      if (candidate.path == canonical.string()) {
        candidate.linked = candidate.linked || linked;
        return;
      }
    }
    found.push_back({time, linked, canonical.string()});
  };
  if (!save_latest_filename.empty()) {
    const auto link = folder / NameFormat(save_latest_filename, "save_latest_filename").format(state);
    if (fs::exists(link, error)) add(link, true);
  }
  const auto matcher = NameFormat(save_filename, "save_filename").matcher(state);
  for (auto it = fs::recursive_directory_iterator(folder, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    std::error_code kind;
    if (!it->is_regular_file(kind) || it->is_symlink(kind)) continue;
    if (it->path().filename().string().rfind(".tmp", 0) == 0) continue;  // a save in flight or killed
    const auto relative = fs::relative(it->path(), folder, kind).generic_string();
    if (std::regex_match(relative, matcher)) add(it->path(), false);
  }
  std::stable_sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    if (a.time != b.time) return a.time > b.time;
    if (a.linked != b.linked) return a.linked;
    return a.path > b.path;
  });
  std::vector<std::string> candidates;
  for (const auto& candidate : found) candidates.push_back(candidate.path);

  for (const auto& path : candidates) {
    try {
      return AutoresumeCandidate{path, read_checkpoint(path, for_path(progress, path))};
    } catch (const CheckpointError& e) {
      std::fprintf(stderr, "tempo: warning: autoresume skips damaged checkpoint '%s' and tries an older one: %s\n",
                   path.c_str(), e.what());
    }
  }
  return std::nullopt;
}

}  // namespace tempo
