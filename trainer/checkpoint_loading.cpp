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
#include "serialization/safetensors.h"
#include "state/tree.h"

namespace tempo {
namespace fs = std::filesystem;

c10::IValue read_checkpoint_or_weights(const std::string& path) {
  if (fs::path(path).extension() == ".safetensors") {
    auto dict = new_tree_dict();
    for (auto& [name, tensor] : read_safetensors(path)) dict.insert(name, tensor);
    return dict;
  }
  return read_checkpoint(path);
}

std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const std::string& save_folder,
                                                             const std::string& save_filename,
                                                             const std::string& save_latest_filename) {
  const fs::path folder = NameFormat(save_folder, "save_folder").format(state);
  std::error_code error;
  if (!fs::is_directory(folder, error)) return std::nullopt;

  std::vector<std::string> candidates;
  if (!save_latest_filename.empty()) {
    const auto link = folder / NameFormat(save_latest_filename, "save_latest_filename").format(state);
    if (fs::exists(link, error)) candidates.push_back(fs::canonical(link, error).string());
  }
  const auto matcher = NameFormat(save_filename, "save_filename").matcher(state);
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (auto it = fs::recursive_directory_iterator(folder, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
    if (it->path().filename().string().rfind(".tmp", 0) == 0) continue;
    const auto relative = fs::relative(it->path(), folder, error).generic_string();
    if (std::regex_match(relative, matcher)) found.emplace_back(fs::last_write_time(it->path(), error), it->path().string());
  }
  std::sort(found.rbegin(), found.rend());
  for (const auto& entry : found) candidates.push_back(fs::canonical(entry.second, error).string());

  for (const auto& path : candidates) {
    try {
      return AutoresumeCandidate{path, read_checkpoint(path)};
    } catch (const CheckpointError& e) {
      std::fprintf(stderr, "tempo: warning: autoresume skips '%s': %s\n", path.c_str(), e.what());
    }
  }
  return std::nullopt;
}

}  // namespace tempo
