// Everything a run is made of and everything that must survive a crash: the model, optimizers,
// schedulers, data position, timestamp, seeds, metrics and the state of every callback.
// Callbacks read and change the run only through the State they are handed; loop counters live
// here (in `timestamp`), never in locals of the training loop, which is what makes a
// mid-epoch resume exact.
//
// state_dict() gives Composer's "state" tree, in Composer's key order: model, optimizers,
// schedulers, algorithms, callbacks, scaler, timestamp, rank_zero_seed, train_metrics,
// eval_metrics, run_name, dataset_state, integrations, metadata. Its tensors alias the live
// ones (as in PyTorch); write or copy it before training on. load_state_dict() checks the whole
// tree against this run first and throws CheckpointError, naming the path at fault, before it
// changes anything.
#pragma once

#include <ATen/core/ivalue.h>
#include <c10/core/Device.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tempo/data/batch.h"
#include "tempo/metrics/metric.h"
#include "tempo/serialization/env.h"
#include "tempo/state/copy_fence.h"
#include "tempo/state/stateful.h"
#include "tempo/time/time_quantity.h"
#include "tempo/time/timestamp.h"

namespace torch::optim {
class Optimizer;
}

namespace tempo {

class Communicator;

class DataLoader;
class GradScaler;
class Model;
class Scheduler;

// How load_state_dict() applies a tree (Composer's load_* options).
struct StateLoadOptions {
  bool strict_model_weights = true;
  bool weights_only = false;
};

class State {
 public:
  State();
  ~State();

  // What is trained.
  std::shared_ptr<Model> model;
  std::vector<std::shared_ptr<torch::optim::Optimizer>> optimizers;
  std::vector<std::shared_ptr<Scheduler>> schedulers;
  std::shared_ptr<DataLoader> train_dataloader;
  c10::Device device{c10::kCPU};
  // The run's environment (TrainerOptions::env): every file a callback or logger writes, and
  // every warning, goes through it. Never null; not owned.
  Env* env = &Env::posix();
  // Accelerate's save/load state pre-hooks (TrainerOptions::register_save_state_pre_hook, ...):
  // each save hook, in order, may edit the checkpoint tree {"state": ..., "rng": [...]} after it is
  // made and before it is written or handed out (make_checkpoint_tree, state/checkpoint_tree.h);
  // each load hook edits a tree that was read (or given to Trainer::load_state_dict) before it is
  // checked and applied (load_checkpoint_tree). A hook's exception ends that save or load.
  std::vector<std::function<void(c10::IValue& tree)>> save_state_pre_hooks;
  std::vector<std::function<void(c10::IValue& tree)>> load_state_pre_hooks;

  // Where the run stands.
  Timestamp timestamp;
  std::optional<Timestamp> previous_timestamp;  // before the last batch or epoch step
  std::optional<Time> max_duration;
  std::string run_name;
  uint64_t rank_zero_seed = 0;
  // This process's place in a multi-process run (distributed/launch_env.h): Composer's
  // dist.get_global_rank(), get_world_size(), get_local_rank(), get_local_world_size(),
  // get_node_rank(). One process: rank 0 of 1.
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  int64_t local_world_size = 1;
  int64_t node_rank = 0;
  // The run's process group when world_size > 1 (distributed/communicator.h), else null. Not owned
  // by the State alone: dist::communicator() is the same object.
  std::shared_ptr<Communicator> comm;
  // Gathers every rank's generator states for a checkpoint of the current batch: a collective,
  // which every rank calls at the same point (CheckpointSaver does, at each save, on every rank;
  // rank 0 then writes). Nothing to gather with one rank.
  void gather_rng();
  // Composer's rng list for a checkpoint of the current batch, one entry per rank: with one rank,
  // this rank's generators; with several, what gather_rng() gathered at this batch. Throws
  // CheckpointError when it was not called at this batch (the other ranks' states are unknown).
  c10::impl::GenericList checkpoint_rng() const;

  // What the current batch produced; set between the events that produce them.
  Batch batch;
  torch::Tensor outputs;
  torch::Tensor loss;
  // The data being iterated (Composer's state.dataloader_label): "train" while training, the
  // evaluator's label from its EVAL_START to its EVAL_END.
  std::string dataloader_label = "train";

  // The optimization step (Trainer::train_batch).
  // Samples per microbatch: each batch is split and its gradients accumulated; 0: the whole
  // batch at once (Composer's device_train_microbatch_size).
  int64_t device_train_microbatch_size = 0;
  // Loader batches per optimizer step (TrainerOptions::gradient_accumulation_steps); a batch of
  // the timestamp is one step of up to this many loader batches.
  int64_t gradient_accumulation_steps = 1;
  // Dynamic loss scaling (amp_fp16, or TrainerOptions::grad_scaler); null: none. Saved under
  // state/scaler as {"GradScaler": PyTorch's GradScaler.state_dict()}, Composer's layout.
  std::shared_ptr<GradScaler> scaler;
  // Whether the scaler skipped the last optimizer step (an inf/NaN gradient). Set after the
  // step: read it from BATCH_END on.
  bool optimizer_step_was_skipped = false;
  // The global L2 norm of the gradients before clipping, from AFTER_TRAIN_BATCH of each batch on;
  // unset when no clipping is configured.
  std::optional<double> grad_norm;
  // save_async's copies of the parameters and optimizer state still running beside training (see
  // state/copy_fence.h): the trainer waits for them before the optimizer step; a callback that
  // changes parameters or optimizer state in place calls checkpoint_copy.wait() first.
  CopyFence checkpoint_copy;

  // Metrics (metrics/metric.h), Composer's: train_metrics is {name: Metric}, from
  // model->metrics(true), reset before and updated after every training batch;
  // eval_metrics is {evaluator label: {name: Metric}}, from model->metrics(false), reset when
  // that evaluator starts. Read a value with ->compute().
  MetricMap train_metrics;
  std::map<std::string, MetricMap> eval_metrics;
  // Whether state_dict() holds the metrics' accumulators (Composer's save_metrics): then
  // state/train_metrics is {name: {"state_dict": {...}, "_computed": value or None}} and
  // state/eval_metrics {label: {name: the same}}; otherwise both are {}. load_state_dict()
  // restores the metrics of this run found there and ignores the rest, including the plain
  // numbers older tempo checkpoints hold.
  bool save_metrics = false;

  // Registers an object whose state is saved under state/callbacks/<key>. Keys are unique per
  // instance: a second object asking for a taken key gets "<key>_1", "<key>_2"...; the key
  // actually used is returned. Registration order must be the same when a run resumes.
  std::string register_callback_state(const std::string& key, std::shared_ptr<Stateful> stateful);
  const std::vector<std::pair<std::string, std::shared_ptr<Stateful>>>& callback_states() const {
    return callback_states_;
  }

  // Asks the trainer to end fit() at the next batch or epoch boundary; FIT_END, the final
  // checkpoint and the loggers still run. The first reason given is kept.
  void request_stop(const std::string& reason);
  bool stop_requested() const { return stop_requested_; }
  const std::string& stop_reason() const { return stop_reason_; }
  // fit() calls this: a new fit() is a new request to train.
  void clear_stop_request() {
    stop_requested_ = false;
    stop_reason_.clear();
  }

  // Fraction of max_duration elapsed (Composer's get_elapsed_duration); 1.0 when reached.
  double elapsed_fraction() const;
  // max_duration reached, or a stop requested: the moment for end-of-training work.
  bool training_complete() const;
  // Batches (optimizer steps) in one training epoch on this rank: the train loader's batches
  // grouped by gradient_accumulation_steps, the last group possibly short; 0 without a train
  // dataloader.
  int64_t dataloader_len() const;

  c10::IValue state_dict() const;
  // Returns a note on what was skipped (non-strict model loading); empty when nothing was.
  std::string load_state_dict(const c10::IValue& tree, const StateLoadOptions& options = {});

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Stateful>>> callback_states_;
  bool stop_requested_ = false;
  std::string stop_reason_;
  std::optional<c10::IValue> gathered_rng_;  // gather_rng()'s list, of batch gathered_batch_
  int64_t gathered_batch_ = -1;
};

}  // namespace tempo
