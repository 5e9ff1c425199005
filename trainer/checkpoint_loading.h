// Finding and reading the checkpoint a Trainer starts from: load_path, or with autoresume the
// newest readable checkpoint of this run in its save folder, as the run's CheckpointFolder lists
// them (callbacks/checkpoint_folder.h: newest first, a latest link's target first among equally
// new ones, so a missing or stale link never hides a newer checkpoint; temporaries never). A
// damaged one is skipped with a warning naming it. Files are tempo/PyTorch zip checkpoints, bare
// model state_dicts, or safetensors.
#pragma once

#include <ATen/core/ivalue.h>

#include <functional>
#include <optional>
#include <string>

#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/storage/object_store.h"

namespace tempo {

class Logger;
class State;

// Told how far the read of `path` is (see CheckpointProgressFn).
using LoadProgressFn = std::function<void(const std::string& path, uint64_t done, uint64_t total)>;

// The tree in `path` as open_weights_file reads it (serialization/weights_file.h): a checkpoint
// as written, or {name: tensor} for a safetensors file, recognized by name or by content.
// Throws CheckpointError naming the path.
c10::IValue read_checkpoint_or_weights(const std::string& path, const LoadProgressFn& progress = {});

struct AutoresumeCandidate {
  std::string path;
  c10::IValue tree;
};

// The newest checkpoint of this run and rank in `folder` that can be read, or nothing when there
// is none.
std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const CheckpointFolder& folder,
                                                             const LoadProgressFn& progress = {});

// Where a remote load_path is downloaded when TrainerOptions::remote_cache_folder is empty:
// $XDG_CACHE_HOME/tempo, else $HOME/.cache/tempo, else /tmp/tempo-cache.
std::string default_remote_cache_folder();

// A local file holding `load_path`: the path itself, or for a URI (s3://bucket/key, file:///...)
// the object downloaded to <cache_folder>/<bucket>/<key>, after following a ".symlink" object
// (Composer's remote latest: its body is the key of the checkpoint). `progress` sees the
// download. Throws ConfigError for a bad URI, CheckpointError naming the URI for a missing
// object or a failed download (a StorageError's message).
std::string fetch_load_path(const std::string& load_path, const ObjectStoreOptions& options,
                            const std::string& cache_folder, const LoadProgressFn& progress = {});

// Autoresume from a remote save folder (`saver`'s, a URI): the checkpoint its remote latest names,
// then the newest of the run's checkpoints in the store, each downloaded into the local save
// folder (Composer's autoresume) and read; one that is damaged, or fails to download, is skipped
// with a warning. Only checkpoints newer (by batch) than `local`, the local candidate found
// already, are tried. Nothing when the store holds none newer.
class CheckpointSaver;
std::optional<AutoresumeCandidate> find_remote_autoresume_checkpoint(const State& state, const CheckpointSaver& saver,
                                                                    const std::optional<AutoresumeCandidate>& local,
                                                                    const LoadProgressFn& download_progress,
                                                                    const LoadProgressFn& read_progress);

// Autoresume's choice: find_autoresume_checkpoint in `saver`'s local folder, then, with a remote
// folder, a newer checkpoint from the store (find_remote_autoresume_checkpoint).
std::optional<AutoresumeCandidate> find_run_checkpoint(const State& state, const CheckpointSaver& saver,
                                                       const LoadProgressFn& download_progress,
                                                       const LoadProgressFn& read_progress);

// After an autoresume (Composer keeps state/run_name with the rest of the state): the run goes on
// under the name its checkpoint `tree`, read from `path`, carries, logged as the run_name
// hyperparameter; a save_folder without {run_name} lets the config name another, which is then
// not used, with a warning through state.env.
void restore_run_name(State& state, Logger& logger, const c10::IValue& tree, const std::string& path);

}  // namespace tempo
