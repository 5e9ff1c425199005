// Saves checkpoints during training, as Composer's CheckpointSaver does: when save_interval
// fires (an "ep" interval at EPOCH_CHECKPOINT, others at BATCH_CHECKPOINT, a crossing of a
// multiple of the interval) and always at the end of training, never twice for one batch.
// Each save writes folder/filename atomically, then points latest_filename (a relative
// symlink, replaced by rename) at it, then deletes what rotation drops: the newest
// num_checkpoints_to_keep are kept (-1 keeps all), counting the ones earlier runs of the same
// run name left in the folder, so the limit holds across restarts (composer#2087).
//
// Names are format strings (see callbacks/name_format.h). A name that would leave the folder
// (absolute, or with a ".." part) is refused. Without overwrite, a fresh run whose folder
// already holds this run's checkpoints fails at FIT_START, before any training is lost.
//
// Faults: a save that fails (disk full, I/O error, an unusable folder) leaves no partial file
// (the temporary is removed), leaves `latest` on the previous complete checkpoint and deletes
// nothing (rotation runs only after a complete save). It then throws CheckpointError naming the
// file and the OS error, or, with ignore_errors, prints a warning saying the same on stderr and
// training goes on. At FIT_START the saver removes temporaries (".tmp.<name>.<pid>.<n>", see
// serialization/atomic_file.h) that killed saves left in its folder: those whose pid is not a
// live process, or is this process (no save of ours is in flight then); a live other process's
// temporaries are never touched.
// Best checkpoint (best_metric "<dataloader label>/<metric name>", e.g. "eval/Accuracy"; empty:
// off): after each evaluation of that label whose metric is better than every earlier one
// (best_comparator, or Composer's default by name: "less" for losses, errors and perplexities),
// best_filename becomes a hard link (a copy where links are refused) to the checkpoint of that
// batch, made atomically; when the interval saves nothing at that batch, the best checkpoint is
// written there directly. It is not one of saved_checkpoints(): rotation neither counts nor
// deletes it, so keeping the best never evicts the newest checkpoint. The best value, its batch
// and path are the saver's state (state/callbacks/CheckpointSaver), so they survive a resume.
// Throws ConfigError for bad options, CheckpointError when a save fails (unless ignore_errors;
// a name leaving the folder or an existing file without overwrite always throws).
//
// save_async: at the checkpoint event the saver copies the state to host memory (a
// CheckpointSnapshot, whose staging buffers are reused from save to save) and a background thread
// writes that copy: the same atomic write, then the latest link, then rotation, then the best
// link, in the same order as a synchronous save, so a reader sees the same files. Training goes on
// meanwhile. At a checkpoint event only the buffers and the small entries are copied at once; the
// parameters and optimizer state, which only the optimizer step changes, are copied by the writer
// thread while the next batch's forward and backward run, and the trainer waits for that copy
// (State::checkpoint_copy) before its optimizer step. A callback that changes parameters or
// optimizer state in place must wait for it too; a save that finds one of them changed during its
// copy fails (tempo::Error naming the tensor, whatever ignore_errors) and writes nothing. One save is in flight at a time: the next save (and FIT_START,
// FIT_END, save(), wait()) first waits for it, so the staging memory is never overwritten while it
// is being written. Decided at the checkpoint event: the file name, the refusal of an existing file
// and that the batch counts as saved (so it is not saved twice). Done on completion: saved_checkpoints()
// gains the file and rotation deletes, so `latest` only ever names a durable file and rotation never
// deletes one a pending save relies on. A failure is reported at the saver's next event (any event)
// once the thread has finished, or when something waits for it, at the latest at FIT_END: as
// CheckpointError, or with ignore_errors as the same warning a synchronous save prints. fit() returns
// only after the last save is durable; the destructor waits too, so no thread outlives the saver.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callbacks/callback.h"
#include "callbacks/interval.h"
#include "callbacks/metric_monitor.h"
#include "callbacks/name_format.h"
#include "state/checkpoint_snapshot.h"

namespace tempo {

struct CheckpointSaverOptions {
  TORCH_ARG(std::string, folder) = "{run_name}/checkpoints";
  TORCH_ARG(std::string, filename) = "ep{epoch}-ba{batch}-rank{rank}.pt";
  // Empty: no latest link.
  TORCH_ARG(std::string, latest_filename) = "latest-rank{rank}.pt";
  TORCH_ARG(Interval, save_interval) = Time(1, TimeUnit::EPOCH);
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
  // Write checkpoints on a background thread from a copy in host memory (see above), at the cost
  // of host memory the size of the checkpoint.
  TORCH_ARG(bool, save_async) = false;
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

 private:
  struct BackgroundSave;

  void on_checkpoint_event(State& state, Event event, Logger& logger);
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
  std::string inside_folder(const std::string& folder, const std::string& name, const std::string& option) const;
  void rotate(const std::string& newest);
  void remove_stale_temporaries(const std::string& folder) const;
  // Makes the best checkpoint of the current batch, when an evaluation asked for one.
  void keep_best(const State& state, Logger* logger = nullptr);

  CheckpointSaverOptions options_;
  NameFormat folder_;
  NameFormat filename_;
  NameFormat latest_filename_;
  IntervalPredicate should_save_;
  std::vector<std::string> saved_;
  int64_t last_saved_batch_ = -1;
  // best_metric split into label and name, with its comparator; none: off.
  std::optional<MetricMonitor> best_monitor_;
  NameFormat best_filename_;
  std::optional<double> best_value_;
  int64_t best_batch_ = -1;
  std::string best_path_;
  bool best_pending_ = false;  // an evaluation of this batch improved the metric
  bool fit_ended_ = false;
  // The save in flight, or finished and not yet taken in; only the training thread touches this
  // pointer, the writer thread only the object, and only until it marks it done.
  std::unique_ptr<BackgroundSave> background_;
  CheckpointSnapshot snapshot_;
};

}  // namespace tempo
