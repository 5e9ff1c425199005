// The Trainer's arguments, with Composer's names, as a struct with chained setters in
// LibTorch's style: TrainerOptions().model(m).train_dataloader(d).max_duration("2ep").
// Time-valued options take a Time or a time string; strings are parsed (and rejected with a
// TimeError naming the string) when set.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/interval.h"
#include "tempo/callbacks/logger.h"
#include "tempo/serialization/env.h"
#include "tempo/state/grad_scaler.h"
#include "tempo/state/scheduler.h"
#include "tempo/time/time_quantity.h"
#include "tempo/trainer/evaluator.h"
#include "tempo/trainer/gradient_clipping.h"
#include "tempo/trainer/precision.h"

namespace torch::optim {
class Optimizer;
}

namespace tempo {

class DataLoader;
class Model;

// TORCH_ARG pastes its type into "const T&": a named pointer type keeps that a const pointer.
using EnvPointer = Env*;

// check_max_duration's rules (a positive count, not dur or sec), and not in tokens unless the
// training data counts them (Dataset::counts_tokens): otherwise such a run would never end.
// Throws TimeError.
void check_trainer_max_duration(const Time& duration, bool counts_tokens);

struct TrainerOptions {
  TORCH_ARG(std::shared_ptr<Model>, model);
  TORCH_ARG(std::shared_ptr<DataLoader>, train_dataloader);
  // Shortcut for one evaluator labelled "eval"; more go in `evaluators`.
  TORCH_ARG(std::shared_ptr<DataLoader>, eval_dataloader);
  TORCH_ARG(std::vector<Evaluator>, evaluators);
  TORCH_ARG(Interval, eval_interval) = Time(1, TimeUnit::EPOCH);
  TORCH_ARG(int64_t, eval_subset_num_batches) = -1;
  TORCH_ARG(std::vector<std::shared_ptr<torch::optim::Optimizer>>, optimizers);
  // Stepped once per batch in this order (state/scheduler.h); Composer's schedulers are in
  // optim/schedulers.h, a LibTorch one goes in through optim/torch_scheduler.h.
  TORCH_ARG(std::vector<std::shared_ptr<Scheduler>>, schedulers);
  // Composer's scale_schedule_ratio: max_duration and every scheduler's times (but "dur" ones and,
  // unless scale_warmup, warm-ups) are stretched by it. Must be > 0; other than 1 needs schedulers.
  TORCH_ARG(double, scale_schedule_ratio) = 1.0;
  TORCH_ARG(std::vector<std::shared_ptr<Callback>>, callbacks);
  TORCH_ARG(std::vector<std::shared_ptr<LoggerDestination>>, loggers);
  // Unset: a random seed is drawn and logged (Composer's behaviour).
  TORCH_ARG(std::optional<uint64_t>, seed);
  // Unset: a name is made from the start time.
  TORCH_ARG(std::string, run_name);
  // "cpu", "cuda", "cuda:N", or "auto" (cuda when available).
  TORCH_ARG(std::string, device) = "cpu";

  // The optimization step (Trainer::train_batch).
  // fp32, amp_bf16 or amp_fp16 (CUDA only; see trainer/precision.h).
  TORCH_ARG(Precision, precision) = Precision::FP32;
  // Dynamic loss scaling. Unset: a GradScaler with PyTorch's defaults under amp_fp16, none
  // otherwise. Set: these options under any precision (loss scaling with fp32 math on a CPU).
  TORCH_ARG(std::optional<GradScalerOptions>, grad_scaler);
  // Samples per microbatch (Composer's name): each batch is split into microbatches whose
  // scaled losses' gradients add up to the whole batch's. 0: the whole batch at once.
  TORCH_ARG(int64_t, device_train_microbatch_size) = 0;
  // Loader batches per optimizer step (Accelerate's gradient_accumulation_steps), >= 1: the
  // gradients of N consecutive loader batches are accumulated, each weighted by its share of the
  // step's samples (1/N for equal batches: Accelerate divides each loss by N), and the optimizer
  // and schedulers step once. tempo's batch is the optimizer step, as Composer's and as the steps
  // Accelerate's examples count: state.timestamp's batch, ba durations and intervals, {batch} in
  // file names and dataloader_len() count steps, and its samples are the step's. An epoch's last
  // step takes the loader batches left (Accelerate syncs at the end of the dataloader), so no step
  // spans two epochs. device_train_microbatch_size then splits each loader batch.
  TORCH_ARG(int64_t, gradient_accumulation_steps) = 1;
  // Composer's GradientClipping (trainer/gradient_clipping.h); clipping_threshold must be > 0
  // unless clipping_type is NONE.
  TORCH_ARG(ClippingType, clipping_type) = ClippingType::NONE;
  TORCH_ARG(double, clipping_threshold) = 0.0;

  // Checkpointing (Composer's shortcut options): a non-empty save_folder adds one
  // CheckpointSaver built from the save_* options; more savers can be passed as callbacks. Each
  // save_X is CheckpointSaverOptions' X (or save_X), with its default and meaning.
  TORCH_ARG(std::string, save_folder);
  TORCH_ARG(std::string, save_filename) = CheckpointSaverOptions().filename();
  TORCH_ARG(std::string, save_latest_filename) = CheckpointSaverOptions().latest_filename();
  TORCH_ARG(Interval, save_interval) = CheckpointSaverOptions().save_interval();
  TORCH_ARG(int64_t, save_num_checkpoints_to_keep) = CheckpointSaverOptions().num_checkpoints_to_keep();
  TORCH_ARG(bool, save_weights_only) = CheckpointSaverOptions().weights_only();
  TORCH_ARG(bool, save_overwrite) = CheckpointSaverOptions().overwrite();
  // A failed save (disk full, I/O error) warns on stderr and training continues (default: it stops the run).
  TORCH_ARG(bool, save_ignore_errors) = CheckpointSaverOptions().ignore_errors();
  // Write checkpoints on a background thread from a copy in host memory, the parameters and
  // optimizer state copied while the next batch's forward and backward run
  // (CheckpointSaverOptions::save_async).
  TORCH_ARG(bool, save_async) = CheckpointSaverOptions().save_async();
  // With a remote save_folder (s3://bucket/prefix/{run_name}): the newest N checkpoints stay in
  // the store, -1: all (CheckpointSaverOptions::remote_num_checkpoints_to_keep).
  TORCH_ARG(int64_t, save_remote_num_checkpoints_to_keep) = CheckpointSaverOptions().remote_num_checkpoints_to_keep();
  // How s3:// (and file://) save folders and load paths are reached: endpoint, region, part
  // size, concurrency, retries, timeouts (storage/object_store_options.h); credentials come from
  // the environment (storage/s3_credentials.h).
  TORCH_ARG(ObjectStoreOptions, object_store) = {};
  // Where a remote load_path is downloaded to: <folder>/<bucket>/<key>; empty:
  // $XDG_CACHE_HOME/tempo, else ~/.cache/tempo. (Autoresume from a remote save_folder downloads
  // into the local save folder, as Composer does.)
  TORCH_ARG(std::string, remote_cache_folder) = "";
  // Checkpoints hold the train and eval metrics' accumulators (state/train_metrics,
  // state/eval_metrics), so a resumed run's metrics continue exactly; off (Composer's default):
  // those sections are empty.
  TORCH_ARG(bool, save_metrics) = false;

  // Resuming: load_path is a tempo or Composer checkpoint, or with load_weights_only also a
  // Python torch.save(model.state_dict()) file, a .safetensors file or a Hugging Face safetensors
  // folder (model.safetensors or a sharded index: read_safetensors_folder). A weights-only checkpoint
  // (saved with save_weights_only) loads as weights only, flag or not, as in Composer. A URI
  // (s3://bucket/key.pt, file:///folder/key.pt; a ".symlink" object is followed) is downloaded to
  // remote_cache_folder first; other schemes are refused (ConfigError).
  TORCH_ARG(std::string, load_path);
  TORCH_ARG(bool, load_weights_only) = false;
  TORCH_ARG(bool, load_strict_model_weights) = true;
  TORCH_ARG(std::vector<std::string>, load_ignore_keys);
  // With run_name and save_folder: resume from the newest checkpoint in save_folder, if any
  // (Composer's autoresume); a remote save_folder's checkpoints count too (its latest, then the
  // newest readable one), downloaded into the local save folder. Refused with save_weights_only: weights alone cannot continue a run.
  // A resumed run restores all of its checkpoint: load_path, load_weights_only and
  // load_ignore_keys apply only when no checkpoint is found, to the run's first load.
  // It keeps the run name saved in its checkpoint (a warning says so when run_name differs).
  TORCH_ARG(bool, autoresume) = false;
  // During fit(), SIGTERM and SIGINT finish the current batch (skipping an evaluation due at it),
  // stop the run so that every CheckpointSaver writes that batch in FIT_END, and return
  // (Trainer::stopped_by_signal() says which signal); a second signal kills at once. Off: the process's own handlers stay (trainer/signal_handling.h).
  TORCH_ARG(bool, handle_signals) = true;
  // Seconds any collective between ranks may take before the run stops with an error naming the
  // rank that did not answer (Composer's dist_timeout and default); also the time the ranks have
  // to meet at start. Used only in a multi-process run (torchrun, tempo train --nproc).
  TORCH_ARG(double, dist_timeout) = 300.0;
  // The operating system as this run sees it (serialization/env.h): checkpoint and log files,
  // links, listings and warnings go through it, as State::env. Not owned: it must outlive the
  // Trainer and any save in flight. Tests pass one that injects faults or collects warnings.
  TORCH_ARG(EnvPointer, env) = &Env::posix();

 public:
  TrainerOptions& max_duration(const Time& duration);
  TrainerOptions& max_duration(const std::string& duration) { return max_duration(Time::parse(duration)); }
  TrainerOptions& max_duration(const char* duration) { return max_duration(Time::parse(duration)); }
  const std::optional<Time>& max_duration() const { return max_duration_; }

  // Accelerate's register_for_checkpointing: `object`'s state_dict() is saved with every
  // checkpoint under state/callbacks/<name> and given back to its load_state_dict() when a run
  // resumes (load_path or autoresume). An option rather than a Trainer method because the
  // Trainer's constructor already loads the checkpoint. Names must be unique and differ from
  // the callbacks' and loggers' (the Trainer throws ConfigError otherwise); a state_dict() of None
  // is not saved.
  TrainerOptions& register_for_checkpointing(const std::string& name, std::shared_ptr<Stateful> object) {
    checkpointed_objects_.emplace_back(name, std::move(object));
    return *this;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Stateful>>>& checkpointed_objects() const {
    return checkpointed_objects_;
  }

  // Accelerate's register_save_state_pre_hook / register_load_state_pre_hook, on the checkpoint
  // tree ({"state": ..., "rng": [...]}, Composer's anatomy): a save hook may edit the tree of
  // every checkpoint after it is made and before it is written (every saver of the run, and
  // Trainer::state_dict()); a load hook may edit a tree read from load_path or by autoresume (or
  // given to Trainer::load_state_dict()) before it is checked and applied. Hooks run in the order
  // registered; what they leave must still be a checkpoint the run can load.
  using StateTreeHook = std::function<void(c10::IValue& tree)>;
  TrainerOptions& register_save_state_pre_hook(StateTreeHook hook) {
    save_state_pre_hooks_.push_back(std::move(hook));
    return *this;
  }
  TrainerOptions& register_load_state_pre_hook(StateTreeHook hook) {
    load_state_pre_hooks_.push_back(std::move(hook));
    return *this;
  }
  const std::vector<StateTreeHook>& save_state_pre_hooks() const { return save_state_pre_hooks_; }
  const std::vector<StateTreeHook>& load_state_pre_hooks() const { return load_state_pre_hooks_; }

 private:
  std::optional<Time> max_duration_;
  std::vector<std::pair<std::string, std::shared_ptr<Stateful>>> checkpointed_objects_;
  std::vector<StateTreeHook> save_state_pre_hooks_;
  std::vector<StateTreeHook> load_state_pre_hooks_;
};

}  // namespace tempo
