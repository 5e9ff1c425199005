// The Trainer: builds a State from TrainerOptions and runs Composer's training loop over it,
// firing every event in Composer's order (composer/trainer/trainer.py):
//   ctor: INIT, (max_duration scaled by scale_schedule_ratio, schedulers compiled: Composer's set
//         the first batch's lr), BEFORE_LOAD, AFTER_LOAD
//   fit:  FIT_START, ITERATION_START (first epoch only), then per epoch EPOCH_START and per batch
//         BEFORE_DATALOADER, AFTER_DATALOADER, BATCH_START, BEFORE_TRAIN_BATCH, then per
//         microbatch BEFORE_FORWARD, AFTER_FORWARD, BEFORE_LOSS, AFTER_LOSS, BEFORE_BACKWARD,
//         AFTER_BACKWARD, then (unscale, clip) AFTER_TRAIN_BATCH, (optimizer step, scaler update)
//         BATCH_END, [batch-interval evaluation],
//         BATCH_CHECKPOINT; when the loader is exhausted one more BEFORE_DATALOADER, then
//         EPOCH_END, [epoch-interval evaluation], EPOCH_CHECKPOINT; at the end FIT_END and, if
//         the last evaluation was not at the final batch, one more evaluation; then, even when
//         fit() fails, every callback's and logger destination's close() (callbacks/callback.h).
//   SIGTERM/SIGINT (TrainerOptions::handle_signals) become a stop request at the end of the
//   batch: the evaluation due at that batch and the final one are skipped (a preempted job has
//   seconds), and each CheckpointSaver writes the batch in FIT_END.
//   An evaluation is EVAL_BEFORE_ALL, per evaluator EVAL_START, per batch EVAL_BATCH_START,
//   EVAL_BEFORE_FORWARD, EVAL_AFTER_FORWARD, EVAL_BATCH_END, then EVAL_END; EVAL_AFTER_ALL.
// With gradient_accumulation_steps N, a batch is one optimizer step of N loader batches (fewer at
// an epoch's end), joined into state.batch, and the microbatch events run per loader batch (per
// microbatch of it with device_train_microbatch_size).
// Training that stops mid-epoch (max_duration in batches, or a stop request) fires no
// EPOCH_END. All loop counters live in state().timestamp, so fit() can start at any batch.
// Metrics (Composer's): state().train_metrics are reset after BATCH_START, updated from the
// batch's outputs after the optimizer step and logged as metrics/train/<name> before BATCH_END,
// and again before EPOCH_END; an evaluator's metrics are reset after EVAL_START, updated after
// each EVAL_AFTER_FORWARD and logged as metrics/<label>/<name> before EVAL_END.
//
// Throws ConfigError from the constructor for options that cannot work (no model, no
// optimizer, no train loader, a max_duration in "dur" or "sec", an unusable device, two
// evaluators with one label).
#pragma once

#include <ATen/core/ivalue.h>

#include <memory>
#include <string>
#include <vector>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/state/checkpoint_tree.h"
#include "tempo/state/state.h"
#include "tempo/trainer/trainer_options.h"

namespace tempo {

class BatchPrefetcher;
class DataParallel;
class Engine;

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains from the current timestamp to max_duration. Throws ConfigError when max_duration is
  // unset or already reached.
  void fit();
  // Composer's fit(duration=...): trains `duration` more (max_duration becomes the current
  // count in that unit plus `duration`).
  void fit(const Time& duration);
  // Standalone evaluation of every evaluator: EVAL_STANDALONE_START ... EVAL_STANDALONE_END.
  void eval();

  State& state() { return *state_; }
  const State& state() const { return *state_; }
  Logger& logger() { return *logger_; }
  // The saver built from the save_* options; null without a save_folder.
  const std::shared_ptr<CheckpointSaver>& checkpoint_saver() const { return checkpoint_saver_; }
  // The checkpoint this run started from; empty for a fresh run.
  const std::string& resumed_from() const { return resumed_from_; }
  // 0, or the signal (SIGTERM, SIGINT) that stopped the last fit() early; see
  // TrainerOptions::handle_signals. Each CheckpointSaver then holds the batch it stopped at
  // (CheckpointSaver::checkpoint_of_batch), unless no batch was trained or the save failed.
  int stopped_by_signal() const { return stopped_by_signal_; }
  // Paths the built-in saver holds, oldest first (Composer's trainer.saved_checkpoints).
  std::vector<std::string> saved_checkpoints() const;

  // The whole run as a checkpoint tree: {"state": state().state_dict(), "rng": [every rank's
  // generators]}, Composer's anatomy. With several ranks a collective: call it on every rank.
  c10::IValue state_dict() const;
  // Takes back such a tree. Checks it all before changing anything; throws CheckpointError.
  // Returns a note on what non-strict loading skipped.
  std::string load_state_dict(const c10::IValue& checkpoint, const CheckpointLoadOptions& options = {});

 private:
  void train_loop();
  // The optimization step of state.batch: zero grads, forward/loss/backward per microbatch,
  // unscale, clip, optimizer step (skipped by the scaler on inf/NaN), scaler update. Leaves
  // state.loss = the batch's loss (the sum of the microbatches' scaled losses), detached.
  void train_batch();
  // Forward, loss and backward of state.batch, its loss weighted by `fraction` of the batch's
  // samples; returns that weighted loss, detached.
  at::Tensor train_microbatch(double fraction);
  // Splits state.batch into its loader batches (step_parts_) and those into microbatches of
  // device_train_microbatch_size, and trains each, weighted by its share of the step's samples.
  void train_microbatches();
  void run_evaluators(Event event);
  void eval_loop(Evaluator& evaluator);
  void zero_grads();
  // The step's batch at state.timestamp (its gradient_accumulation_steps loader batches joined,
  // their sizes in step_parts_), through the prefetcher when there is one; num_batches: steps in
  // the epoch.
  Batch next_train_batch(BatchPrefetcher* prefetcher, int64_t num_batches);
  // Reads load_path or the autoresume checkpoint into the State; returns the generator states
  // to restore once the trainer has reseeded.
  c10::IValue load_initial_checkpoint();
  // Turns a pending SIGTERM/SIGINT into state.request_stop; true if it did.
  bool poll_stop_signal();
  // Whether a SIGTERM/SIGINT arrived during this fit(), taken in or not: evaluations are skipped.
  bool signal_pending() const;
  // Closes every callback (Engine::close), printing their failures as warnings.
  void close_callbacks();

  TrainerOptions options_;
  std::unique_ptr<State> state_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<Engine> engine_;
  std::vector<Evaluator> evaluators_;
  std::vector<IntervalPredicate> eval_schedules_;
  std::shared_ptr<CheckpointSaver> checkpoint_saver_;
  std::string resumed_from_;
  std::vector<int64_t> step_parts_;  // samples of each loader batch in the current step
  std::unique_ptr<DataParallel> ddp_;  // with several ranks
  bool sync_backward_ = true;          // whether the next backward all-reduces (the step's last)
  bool fitted_ = false;
  int stopped_by_signal_ = 0;
};

}  // namespace tempo
