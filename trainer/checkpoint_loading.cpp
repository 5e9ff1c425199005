#include "tempo/trainer/checkpoint_loading.h"

#include <fmt/format.h>

#include <sys/stat.h>

#include <cstdio>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include "tempo/errors/error.h"
#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/checkpoint_uploader.h"
#include "tempo/callbacks/logger.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/weights_file.h"

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

std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const CheckpointFolder& folder,
                                                             const LoadProgressFn& progress) {
  for (const auto& entry : folder.list(state)) {
    try {
      return AutoresumeCandidate{entry.path, read_checkpoint(entry.path, for_path(progress, entry.path))};
    } catch (const CheckpointError& e) {
      state.env->warn("autoresume skips damaged checkpoint '" + entry.path + "' and tries an older one: " + e.what());
    }
  }
  return std::nullopt;
}

std::string default_remote_cache_folder() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return (fs::path(xdg) / "tempo").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    return (fs::path(home) / ".cache" / "tempo").string();
  }
  return "/tmp/tempo-cache";
}

namespace {

TransferProgressFn for_download(const LoadProgressFn& progress, const std::string& path) {
  if (!progress) return {};
  return [&progress, path](uint64_t done, uint64_t total) { progress(path, done, total); };
}

// Composer's remote latest: a small object whose body is the key it points to.
bool is_symlink_key(const std::string& key) {
  return key.size() > 8 && key.compare(key.size() - 8, 8, ".symlink") == 0;
}

std::string follow_symlink(ObjectStore& store, const std::string& key) {
  auto target = store.get(key);
  while (!target.empty() && (target.back() == '\n' || target.back() == '\r' || target.back() == ' ')) target.pop_back();
  if (target.empty() || target.size() > 1024) {
    throw CheckpointError(fmt::format("{} does not name a checkpoint (its body should be the key of one)", store.uri(key)));
  }
  return target.front() == '/' ? target.substr(1) : target;
}

}  // namespace

std::string fetch_load_path(const std::string& load_path, const ObjectStoreOptions& options,
                            const std::string& cache_folder, const LoadProgressFn& progress) {
  if (!is_object_uri(load_path)) return load_path;
  const auto uri = parse_object_uri(load_path, "load_path");
  if (uri.key.empty()) throw ConfigError(fmt::format("load_path: \"{}\" names no object, only a bucket", load_path));
  try {
    auto store = make_object_store(uri, options);
    auto key = uri.key;
    if (is_symlink_key(key)) key = follow_symlink(*store, key);
    const auto folder = cache_folder.empty() ? default_remote_cache_folder() : cache_folder;
    const auto local = (fs::path(folder) / (uri.bucket.empty() ? "file" : uri.bucket) / key).lexically_normal().string();
    store->download(key, local, for_download(progress, local));
    return local;
  } catch (const StorageError& e) {
    throw CheckpointError(fmt::format("load_path '{}': {}", load_path, e.what()));
  }
}

std::optional<AutoresumeCandidate> find_remote_autoresume_checkpoint(const State& state, const CheckpointSaver& saver,
                                                                    const std::optional<AutoresumeCandidate>& local,
                                                                    const LoadProgressFn& download_progress,
                                                                    const LoadProgressFn& read_progress) {
  const auto& folder = saver.checkpoint_folder();
  auto options = saver.options().object_store();
  if (options.env() == nullptr) options.env(state.env);
  std::unique_ptr<ObjectStore> store;
  std::vector<ObjectInfo> objects;
  std::string latest_target;
  const auto root = folder.root(state);
  try {
    store = make_object_store(*saver.remote(), options);
    objects = store->list(root == "." ? "" : root + "/");
    if (folder.has_latest()) {
      const auto latest = CheckpointUploader::key_of(folder.latest_path(state)) + ".symlink";
      try {
        latest_target = follow_symlink(*store, latest);
      } catch (const ObjectNotFoundError&) {
      } catch (const CheckpointError& e) {
        state.env->warn(std::string("autoresume ignores the remote latest: ") + e.what());
      }
    }
  } catch (const StorageError& e) {
    throw CheckpointError(fmt::format("autoresume: cannot read the remote save folder '{}': {}", saver.options().folder(),
                                      e.what()));
  }
  // The local candidate's batch, to try only what is newer.
  std::optional<int64_t> local_batch;
  if (local) {
    for (const auto& entry : folder.list(state)) {
      if (entry.path == local->path) local_batch = entry.batch ? *entry.batch : INT64_MAX;
    }
    if (!local_batch) local_batch = INT64_MAX;
  }
  for (const auto& entry : folder.match(state, objects, latest_target)) {
    if (local_batch && (!entry.batch || *entry.batch <= *local_batch)) continue;
    const auto& key = entry.path;  // the key is the local path
    struct stat before {};
    const bool existed = ::stat(key.c_str(), &before) == 0;
    try {
      store->download(key, key, for_download(download_progress, key));
      return AutoresumeCandidate{key, read_checkpoint(key, for_path(read_progress, key))};
    } catch (const Error& e) {  // StorageError, CheckpointError
      state.env->warn(fmt::format("autoresume skips remote checkpoint {} and tries an older one: {}", store->uri(key),
                                  e.what()));
      if (!existed) state.env->unlink(key.c_str());
    }
  }
  return std::nullopt;
}

std::optional<AutoresumeCandidate> find_run_checkpoint(const State& state, const CheckpointSaver& saver,
                                                       const LoadProgressFn& download_progress,
                                                       const LoadProgressFn& read_progress) {
  auto found = find_autoresume_checkpoint(state, saver.checkpoint_folder(), read_progress);
  if (!saver.remote()) return found;
  auto newer = find_remote_autoresume_checkpoint(state, saver, found, download_progress, read_progress);
  return newer ? std::move(newer) : std::move(found);
}

void restore_run_name(State& state, Logger& logger, const c10::IValue& tree, const std::string& path) {
  if (!tree.isGenericDict() || !tree_has(tree.toGenericDict(), "state")) return;
  const auto saved = tree_dict(tree_at(tree.toGenericDict(), "state", ""), "state");
  if (!tree_has(saved, "run_name")) return;
  const auto name = tree_string(saved, "run_name", "state");
  if (name.empty() || name == state.run_name) return;
  state.env->warn(fmt::format("autoresume continues run '{}' from '{}'; the config's run_name '{}' is not used", name,
                              path, state.run_name));
  state.run_name = name;
  logger.log_hyperparameters({{"run_name", state.run_name}});
}


}  // namespace tempo
