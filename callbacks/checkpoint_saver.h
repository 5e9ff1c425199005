// CheckpointSaver: Composer's CheckpointSaver. Saves a checkpoint of the State when save_interval
// fires (an "ep" interval at EPOCH_CHECKPOINT, others at BATCH_CHECKPOINT), at the end of training,
// and when a run stops early (a stop request or a signal: on_fit_end saves the batch it stopped
// at), never twice for one batch. Each save writes the file atomically, then moves the `latest`
// link to it, then deletes what rotation drops (the newest num_checkpoints_to_keep are kept,
// counting those earlier runs of the same run name left: composer#2087). Names belong to a
// CheckpointFolder (callbacks/checkpoint_folder.h). save_async writes from a copy on a thread.
//
// Invariants: `latest` only ever names a durable checkpoint; rotation never deletes the newest
// checkpoint, one a pending save relies on, or the best checkpoint; a failed save leaves no partial
// file, `latest` on the previous checkpoint and every older checkpoint in place; at most one
// background save is in flight, and none outlives fit() (on_close waits) or the saver.
// A remote folder (a URI: s3://bucket/prefix/{run_name}, file:///folder) is Composer's: each
// checkpoint is written locally as above, in the folder the URI's path names (relative to the
// working folder), then uploaded in the background with its remote `latest` (a ".symlink" object
// naming it), by a CheckpointUploader (callbacks/checkpoint_uploader.h). Training waits for
// uploads only at FIT_END (and on_close), where fit() fails with a CheckpointError naming each
// checkpoint that could not be uploaded (ignore_errors: a warning); an upload that fails during
// training is a warning, its local copy is kept and the next save tries it again.
// Several ranks (State::comm): rank 0 writes every checkpoint, holding every rank's RNG state
// (gathered at the save, Composer's replicated layout); the others take part in each save and,
// for a synchronous one, go past the checkpoint event only once it is durable.
// Throws: ConfigError from the constructor for bad options; CheckpointError when a save fails
// (with ignore_errors: a warning, and training goes on), when a name leaves the folder or, without
// overwrite, names an existing checkpoint or a fresh run finds this run's checkpoints at
// FIT_START; tempo::Error when save_async finds a tensor changed while it was copied (a callback
// must call state.checkpoint_copy.wait() before changing parameters or optimizer state in place).
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/callbacks/interval.h"
#include "tempo/callbacks/metric_monitor.h"
#include "tempo/callbacks/name_format.h"
#include "tempo/state/checkpoint_snapshot.h"
#include "tempo/storage/object_store.h"
#include "tempo/util/folder_lock.h"

namespace tempo {

class CheckpointUploader;

struct CheckpointSaverOptions {
  TORCH_ARG(std::string, folder) = "{run_name}/checkpoints";
  TORCH_ARG(std::string, filename) = "ep{epoch}-ba{batch}-rank{rank}.pt";
  // Empty: no latest link.
  TORCH_ARG(std::string, latest_filename) = "latest-rank{rank}.pt";
  TORCH_ARG(Interval, save_interval) = Time(1, TimeUnit::EPOCH);
  // The newest N checkpoints stay on local disk; -1: all. With a remote folder, 0 removes each
  // local copy once it is uploaded (Composer's meaning); a copy whose upload failed is kept.
  // Without one, 0 keeps what 1 keeps: a run must keep something to resume from.
  TORCH_ARG(int64_t, num_checkpoints_to_keep) = -1;
  TORCH_ARG(bool, weights_only) = false;
  TORCH_ARG(bool, overwrite) = false;
  // A save that fails on I/O warns on stderr and training continues, instead of stopping the run.
  TORCH_ARG(bool, ignore_errors) = false;
  // "<dataloader label>/<metric name>" ("eval/Accuracy"); empty: no best checkpoint.
  TORCH_ARG(std::string, best_metric) = "";
  // "greater"/"gt", "less"/"lt"; empty: Composer's default by the metric's name.
  TORCH_ARG(std::string, best_comparator) = "";
  TORCH_ARG(std::string, best_filename) = "best-rank{rank}.pt";
  // Write checkpoints on a background thread from a copy in host memory (checkpoint_saver.cpp says how), at the cost
  // of host memory the size of the checkpoint.
  TORCH_ARG(bool, save_async) = false;
  // With a remote folder (s3://bucket/prefix, file:///folder): the newest N checkpoints stay in
  // the store; -1: all. Remote copies are never deleted otherwise.
  TORCH_ARG(int64_t, remote_num_checkpoints_to_keep) = -1;
  // How the store is reached (storage/object_store_options.h), with a remote folder.
  TORCH_ARG(ObjectStoreOptions, object_store) = {};
};

class CheckpointSaver : public Callback {
 public:
  explicit CheckpointSaver(CheckpointSaverOptions options = {});
  // Waits for a save in flight; an error nobody was told of is printed as a warning.
  ~CheckpointSaver() override;
  CheckpointSaver(const CheckpointSaver&) = delete;
  CheckpointSaver& operator=(const CheckpointSaver&) = delete;

  // Paths of the checkpoints this saver holds, oldest first: those it wrote, and at FIT_START
  // those earlier runs wrote into its folder; rotation removes from the front.
  const std::vector<std::string>& saved_checkpoints() const { return saved_; }
  const CheckpointSaverOptions& options() const { return options_; }
  // The names of this saver's checkpoints (autoresume reads the same folder through it); with a
  // remote folder, the local one.
  const CheckpointFolder& checkpoint_folder() const { return folder_; }
  // The remote folder (scheme and bucket; its key is the local folder's pattern), when save_folder
  // is a URI.
  const std::optional<ObjectUri>& remote() const { return remote_; }
  // The uploader, from claim() to on_close with a remote folder; null otherwise.
  CheckpointUploader* uploader() const { return uploader_.get(); }
  // Waits for every upload queued; returns one line per checkpoint that could not be uploaded
  // (after one more try), or nothing. A no-op without a remote folder.
  std::vector<std::string> finish_uploads();
  // With a remote folder: the URIs of the checkpoints the store holds of this run (uploaded and
  // verified, or found there at FIT_START), oldest first, as of the last FIT_END.
  const std::vector<std::string>& remote_checkpoints() const { return remote_checkpoints_; }
  // The durable checkpoint this saver holds of batch `batch`, or "" when it holds none (the batch
  // was not saved, its save failed, or it is still being written in the background).
  std::string checkpoint_of_batch(int64_t batch) const;

  // Takes the run's save folder for this process until on_close: creates its root, locks it
  // (util/folder_lock.h: a second run on the folder, in another process or through another saver
  // here, is refused with the holder's pid; the kernel drops the lock if the process dies), removes
  // stale temporaries, lists what earlier runs left (for rotation) and, without overwrite, refuses a
  // fresh run whose folder holds this run's checkpoints. FIT_START calls it; `tempo train` calls it
  // first, so that nothing (config.yaml) is written into a folder the run does not own. Calling it
  // again before on_close does nothing. Throws CheckpointError.
  void claim(State& state);

  // Writes a checkpoint now, whatever the interval says, synchronously whatever save_async says
  // (after waiting for a save in flight); returns its path, or "" when the save failed and
  // ignore_errors let training go on. With a logger, its destinations see the write's progress
  // (the progress bar draws a bar for a large checkpoint).
  std::string save(const State& state, Logger* logger = nullptr);

  // Starts a save of `state` in the background, as save_async does at a checkpoint event (after
  // waiting for a save in flight), except that the whole state is copied before it returns;
  // returns the path being written, durable once wait() returns.
  std::string start_save(const State& state);
  // Blocks until no save is in flight; throws its CheckpointError (with ignore_errors: prints the
  // warning instead). Safe to call at any time, a no-op without a background save.
  void wait();
  // Whether a background save was started and not yet waited for or reported.
  bool save_in_flight() const { return background_ != nullptr; }
  // Host memory kept for background saves' snapshots (their staging buffers), in bytes.
  size_t staged_bytes() const { return snapshot_.staged_bytes(); }

  // The best value of best_metric so far, the batch it was reached at and the best checkpoint's
  // path; nothing before the first evaluation (or without best_metric).
  std::optional<double> best_value() const { return best_value_; }
  int64_t best_batch() const { return best_batch_; }
  const std::string& best_checkpoint() const { return best_path_; }

  // None without best_metric, so checkpoints of runs that do not use it are unchanged.
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

 protected:
  void on_event(Event event, State& state, Logger& logger) override;
  void on_fit_start(State& state, Logger& logger) override;
  void on_batch_checkpoint(State& state, Logger& logger) override;
  void on_epoch_checkpoint(State& state, Logger& logger) override;
  void on_iteration_checkpoint(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;
  void on_eval_after_all(State& state, Logger& logger) override;
  void on_close(State& state, Logger& logger) override;

 private:
  struct BackgroundSave;

  void on_checkpoint_event(State& state, Event event, Logger& logger);
  void adopt_folder(State& state);
  // The save's path and latest link ("" for none); throws for names that leave the folder and for
  // an existing checkpoint without overwrite.
  std::pair<std::string, std::string> checked_names(const State& state) const;
  // Starts the background write of a snapshot of `state`: the checkpoint itself when `save`, the
  // best checkpoint when `best` (linked to the checkpoint, or written on its own). With `overlap`
  // (the trainer's state, at a checkpoint event) the parameters and optimizer state are copied on
  // the writer thread, and overlap->checkpoint_copy lets the next optimizer step wait for it;
  // otherwise everything is copied before this returns.
  void start_background(const State& state, bool save, bool best, State* overlap = nullptr);
  // Takes in the background save's outcome once it finished (at once with `block`): updates the
  // bookkeeping and reports its error.
  void finish_background(bool block);
  void rotate(const std::string& newest);
  // Makes the best checkpoint of the current batch, when an evaluation asked for one.
  void keep_best(const State& state, Logger* logger = nullptr);
  // With several ranks, every rank's part in a save (or best checkpoint) of this batch: gathers the
  // ranks' RNG states; on ranks other than 0, which write nothing, records the save as done and,
  // when `durable`, waits until rank 0's write is (a barrier rank 0 joins after writing). Returns
  // true on those ranks, where the caller stops.
  bool take_part(State& state, bool save_now, bool best_now, bool durable);

  CheckpointSaverOptions options_;
  CheckpointFolder folder_;
  IntervalPredicate should_save_;
  std::vector<std::string> saved_;
  int64_t last_saved_batch_ = -1;
  std::string last_saved_path_;  // the durable checkpoint of last_saved_batch_
  // best_metric split into label and name, with its comparator; none: off.
  std::optional<MetricMonitor> best_monitor_;
  NameFormat best_filename_;
  std::optional<double> best_value_;
  int64_t best_batch_ = -1;
  std::string best_path_;
  bool best_pending_ = false;  // an evaluation of this batch improved the metric
  bool fit_ended_ = false;
  FolderLock lock_;  // held from claim() to on_close
  bool claimed_ = false;
  // The save in flight, or finished and not yet taken in; only the training thread touches this
  // pointer, the writer thread only the object, and only until it marks it done.
  std::unique_ptr<BackgroundSave> background_;
  CheckpointSnapshot snapshot_;
  std::optional<ObjectUri> remote_;
  std::unique_ptr<CheckpointUploader> uploader_;  // claim() to on_close, rank 0, remote folder only
  std::vector<std::string> remote_checkpoints_;
  // Adopts what the remote folder holds of this run (rotation, the overwrite check).
  void adopt_remote(State& state);
  // Reports the uploader's failures as warnings.
  void report_upload_failures();
  // The Env of the state last seen (State::env): rotation, warnings, the destructor's report.
  Env* env_ = &Env::posix();
};

}  // namespace tempo
