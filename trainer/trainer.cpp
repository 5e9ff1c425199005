#include "tempo/trainer/trainer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/data/batch_prefetcher.h"
#include "tempo/data/data_loader.h"
#include "tempo/distributed/communicator.h"
#include "tempo/distributed/data_parallel.h"
#include "tempo/errors/error.h"
#include "tempo/metrics/metric.h"
#include "tempo/state/checkpoint_tree.h"
#include "tempo/state/grad_scaler.h"
#include "tempo/state/model.h"
#include "tempo/state/torch_compat.h"
#include "tempo/state/rng.h"
#include "tempo/state/scheduler.h"
#include "tempo/state/tree.h"
#include "tempo/trainer/checkpoint_loading.h"
#include "tempo/trainer/device.h"
#include "tempo/trainer/engine.h"
#include "tempo/trainer/gradient_clipping.h"
#include "tempo/trainer/precision.h"
#include "tempo/trainer/rank_sync.h"
#include "tempo/trainer/signal_handling.h"

namespace tempo {
namespace {

using Clock = std::chrono::steady_clock;

std::string default_run_name() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::random_device random;
  return fmt::format("run-{}-{:04x}", std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                     random() & 0xffff);
}

uint64_t random_seed() {
  std::random_device random;
  // Composer draws seeds below 2**32 too, so they survive any int conversion.
  return random() & 0xffffffffULL;
}

// Composer's _compile_schedulers and scale_schedule_ratio, between INIT and BEFORE_LOAD as in
// Composer: max_duration is scaled first (the order of Composer's fit(); its constructor compiles
// first and so checks t_max against the unscaled max_duration), then each scheduler is compiled.
// A Composer scheduler sets the lr of the first batch here, as LambdaLR does when built, before any
// checkpoint is loaded: a resumed run then takes its lr from the checkpoint (optim/composer_scheduler.h).
void compile_schedulers(State& state, double ratio) {
  if (!std::isfinite(ratio) || ratio <= 0) throw ConfigError(fmt::format("scale_schedule_ratio must be > 0, got {}", ratio));
  if (ratio != 1.0) {
    if (state.schedulers.empty()) {
      throw ConfigError(fmt::format("scale_schedule_ratio {} has no effect without schedulers", ratio));
    }
    if (state.max_duration) {
      const Time scaled = *state.max_duration * ratio;
      if (scaled.count() == 0) {
        throw ConfigError(fmt::format("scale_schedule_ratio {} reduces max_duration {} to 0; raise the ratio or "
                                      "max_duration", ratio, *state.max_duration));
      }
      state.max_duration = scaled;
    }
  }
  for (auto& scheduler : state.schedulers) {
    if (!scheduler) throw ConfigError("schedulers: a scheduler is null");
    scheduler->compile(state, ratio);
  }
}

}  // namespace

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)), state_(std::make_unique<State>()) {
  auto& state = *state_;
  if (!options_.model()) throw ConfigError("Trainer: 'model' is required");
  if (!options_.train_dataloader()) throw ConfigError("Trainer: 'train_dataloader' is required");
  if (options_.optimizers().empty()) throw ConfigError("Trainer: 'optimizers' needs at least one optimizer");
  const bool counts_tokens = options_.train_dataloader()->dataset().counts_tokens();
  if (options_.max_duration()) check_trainer_max_duration(*options_.max_duration(), counts_tokens);

  if (options_.env() == nullptr) throw ConfigError("Trainer: 'env' is null; leave it unset for the process's own");
  state.env = options_.env();
  // A process that torchrun (or tempo train --nproc) started joins its ranks first.
  join_ranks(state, options_.dist_timeout());
  state.device = resolve_device(options_.device());
  check_precision(options_.precision(), state.device);
  if (options_.device_train_microbatch_size() < 0) {
    throw ConfigError(fmt::format("device_train_microbatch_size must be >= 0 (0: the whole batch), got {}",
                                  options_.device_train_microbatch_size()));
  }
  state.device_train_microbatch_size = options_.device_train_microbatch_size();
  if (options_.gradient_accumulation_steps() < 1) {
    throw ConfigError(fmt::format("gradient_accumulation_steps must be >= 1 (loader batches per optimizer step), got {}",
                                  options_.gradient_accumulation_steps()));
  }
  state.gradient_accumulation_steps = options_.gradient_accumulation_steps();
  if (options_.clipping_type() != ClippingType::NONE && !(options_.clipping_threshold() > 0.0)) {
    throw ConfigError(fmt::format("clipping_threshold must be > 0 with clipping_type {}, got {}",
                                  to_string(options_.clipping_type()), options_.clipping_threshold()));
  }
  if (options_.grad_scaler()) {
    state.scaler = std::make_shared<GradScaler>(*options_.grad_scaler());
  } else if (options_.precision() == Precision::AMP_FP16) {
    state.scaler = std::make_shared<GradScaler>();
  }
  state.model = options_.model();
  state.model->to(state.device);
  state.optimizers = options_.optimizers();
  state.schedulers = options_.schedulers();
  state.train_dataloader = options_.train_dataloader();
  state.max_duration = options_.max_duration();
  state.run_name = options_.run_name().empty() ? default_run_name() : options_.run_name();
  if (state.run_name.find('/') != std::string::npos || state.run_name == "." || state.run_name == "..") {
    throw ConfigError(fmt::format("run_name '{}' must not contain '/' or be '.' or '..': it is used in file names",
                                  state.run_name));
  }
  state.rank_zero_seed = options_.seed().value_or(random_seed());
  share_rank_zero_choices(state, options_);
  state.train_dataloader->set_default_seed(state.rank_zero_seed);

  evaluators_ = options_.evaluators();
  if (options_.eval_dataloader()) {
    Evaluator evaluator;
    evaluator.label = "eval";
    evaluator.dataloader = options_.eval_dataloader();
    evaluator.subset_num_batches = options_.eval_subset_num_batches();
    evaluators_.insert(evaluators_.begin(), evaluator);
  }
  // Metrics, as Composer sets them up: fresh objects from the model, the training ones and one
  // set per evaluator (filtered by its metric_names), made before a checkpoint is loaded into them.
  state.save_metrics = options_.save_metrics();
  state.train_metrics = state.model->metrics(/*train=*/true);
  for (auto& evaluator : evaluators_) {
    if (!evaluator.dataloader) throw ConfigError(fmt::format("evaluator '{}' has no dataloader", evaluator.label));
    if (state.eval_metrics.count(evaluator.label)) {
      throw ConfigError(fmt::format("two evaluators are labelled '{}': labels name their metrics and must differ",
                                    evaluator.label));
    }
    state.eval_metrics[evaluator.label] = filter_metrics(state.model->metrics(/*train=*/false), evaluator.metric_names);
    const auto& interval = evaluator.eval_interval.value_or(options_.eval_interval());
    eval_schedules_.push_back(interval.make_scheduler(/*include_end_of_training=*/true,
                                                      /*checkpoint_events=*/false, {Event::FIT_END}));
  }

  if (is_object_uri(options_.load_path())) {
    parse_object_uri(options_.load_path(), "load_path");
    check_object_store_options(options_.object_store());
  }
  state.save_state_pre_hooks = options_.save_state_pre_hooks();
  state.load_state_pre_hooks = options_.load_state_pre_hooks();
  auto callbacks = options_.callbacks();
  if (!options_.save_folder().empty()) {
    checkpoint_saver_ = std::make_shared<CheckpointSaver>(CheckpointSaverOptions()
                                                              .folder(options_.save_folder())
                                                              .filename(options_.save_filename())
                                                              .latest_filename(options_.save_latest_filename())
                                                              .save_interval(options_.save_interval())
                                                              .num_checkpoints_to_keep(options_.save_num_checkpoints_to_keep())
                                                              .weights_only(options_.save_weights_only())
                                                              .overwrite(options_.save_overwrite())
                                                              .ignore_errors(options_.save_ignore_errors())
                                                              .save_async(options_.save_async())
                                                              .remote_num_checkpoints_to_keep(
                                                                  options_.save_remote_num_checkpoints_to_keep())
                                                              .object_store(options_.object_store()));
    callbacks.push_back(checkpoint_saver_);
  }
  if (options_.autoresume()) {
    if (options_.run_name().empty() || options_.save_folder().empty()) {
      throw ConfigError("autoresume needs an explicit run_name and a save_folder, to know which run to continue");
    }
    if (options_.save_weights_only()) {
      // A weights-only checkpoint would load as weights only and the run would start over each time.
      throw ConfigError("autoresume needs full checkpoints to continue a run: unset save_weights_only");
    }
  }
  logger_ = std::make_unique<Logger>(options_.loggers());
  for (auto& callback : callbacks) state.register_callback_state(callback->name(), callback);
  for (auto& destination : options_.loggers()) state.register_callback_state(destination->name(), destination);
  for (const auto& [name, object] : options_.checkpointed_objects()) {
    if (!object) throw ConfigError(fmt::format("register_for_checkpointing('{}'): the object is null", name));
    if (state.register_callback_state(name, object) != name) {
      throw ConfigError(fmt::format("register_for_checkpointing('{}'): the name is taken (by a callback, logger or an "
                                    "earlier registration); pick another", name));
    }
  }
  engine_ = std::make_unique<Engine>(state, *logger_, callbacks);
  shard_loaders(state, evaluators_);
  check_same_configuration(state, configuration_fingerprint(state, options_));

  seed_all(state.rank_zero_seed + static_cast<uint64_t>(state.rank));
  engine_->run_event(Event::INIT);
  logger_->log_hyperparameters({{"rank_zero_seed", std::to_string(state.rank_zero_seed)},
                                {"run_name", state.run_name}});
  compile_schedulers(state, options_.scale_schedule_ratio());
  engine_->run_event(Event::BEFORE_LOAD);
  auto loaded_rng = load_initial_checkpoint();
  engine_->run_event(Event::AFTER_LOAD);
  // Callbacks may draw random numbers at INIT; reseed so the run starts from the seed alone,
  // then put back the generators of a loaded checkpoint.
  seed_all(state.rank_zero_seed + static_cast<uint64_t>(state.rank));
  if (!loaded_rng.isNone()) load_rng_state_dict(loaded_rng);
  // DDP, made once the weights are final: rank 0's parameters and buffers go to every rank.
  ddp_ = make_data_parallel(state);
}


c10::IValue Trainer::load_initial_checkpoint() {
  auto& state = *state_;
  std::string path = options_.load_path();
  c10::IValue tree;
  CheckpointLoadOptions load_options;
  load_options.weights_only = options_.load_weights_only();
  load_options.strict_model_weights = options_.load_strict_model_weights();
  load_options.ignore_keys = options_.load_ignore_keys();
  // The progress bar (and any logger that shows progress) follows the read of a large checkpoint.
  const LoadProgressFn progress = [&](const std::string& reading, uint64_t done, uint64_t total) {
    logger_->log_checkpoint_progress({"loading", reading, done, total});
  };
  const LoadProgressFn download_progress = [&](const std::string& writing, uint64_t done, uint64_t total) {
    logger_->log_checkpoint_progress({"downloading", writing, done, total});
  };
  auto object_store = options_.object_store();
  if (object_store.env() == nullptr) object_store.env(state.env);
  bool resuming = false;
  if (options_.autoresume()) {
    // Rank 0 chooses the checkpoint and every rank resumes from it, never from different batches.
    std::optional<AutoresumeCandidate> found;
    const auto& remote = checkpoint_saver_->remote();
    if (state.rank == 0) found = find_run_checkpoint(state, *checkpoint_saver_, download_progress, progress);
    const auto chosen = rank_zero_string(state, found ? found->path : "", "choosing the checkpoint to resume from");
    if (!found && !chosen.empty()) {
      // Another node's rank may lack the file rank 0 downloaded: it fetches the same object.
      std::error_code missing;
      const auto local = remote && !std::filesystem::exists(chosen, missing)
                             ? fetch_load_path(ObjectUri{remote->scheme, remote->bucket, chosen}.str(), object_store,
                                               "", download_progress)
                             : chosen;
      found = AutoresumeCandidate{chosen, read_checkpoint_or_weights(local, progress)};
    }
    if (found) {
      path = found->path;
      tree = found->tree;
      // Composer: load_path, load_weights_only and load_ignore_keys apply to a run's first load
      // only; resuming restores all of the run's own checkpoint, or the resume would not be exact.
      load_options.weights_only = false;
      load_options.ignore_keys.clear();
      resuming = true;
    }
  }
  if (path.empty()) return c10::IValue();
  if (tree.isNone()) {
    tree = read_checkpoint_or_weights(
        fetch_load_path(path, object_store, options_.remote_cache_folder(), download_progress), progress);
  }
  auto result = load_checkpoint_tree(state, tree, path, load_options);
  if (result.weights_only_file) {
    state.env->warn("'" + path + "' is a weights-only checkpoint (saved with save_weights_only): loading only its "
                    "model weights, as load_weights_only does");
  }
  if (!result.report.empty()) {
    state.env->warn("loading '" + path + "' skipped " + result.report);
  }
  if (resuming) restore_run_name(state, *logger_, tree, path);
  resumed_from_ = path;
  warn_of_missing_rng(state, result, path);
  return result.rng;
}

Trainer::~Trainer() = default;

void Trainer::fit(const Time& duration) {
  if (duration.unit() == TimeUnit::DURATION || duration.unit() == TimeUnit::SECOND) {
    throw ConfigError(fmt::format("fit(duration={}): the duration must be in ep, ba, sp, tok or iter",
                                  to_string(duration)));
  }
  state_->max_duration = duration + state_->timestamp.get(duration.unit());
  fit();
}

void Trainer::fit() {
  auto& state = *state_;
  if (!state.max_duration) {
    throw ConfigError("fit(): max_duration is not set; set TrainerOptions::max_duration or call fit(duration)");
  }
  if (state.elapsed_fraction() >= 1.0 && options_.autoresume() && !resumed_from_.empty() && !fitted_) {
    // A restarted run that had already finished: nothing to do, and not an error, so that the
    // same command can be re-run after any failure without ever extending training.
    state.env->warn(fmt::format("run '{}' already reached max_duration {}; nothing to train", state.run_name,
                                to_string(*state.max_duration)));
    fitted_ = true;
    return;
  }
  if (state.elapsed_fraction() >= 1.0) {
    throw ConfigError(fmt::format(
        "fit(): max_duration {} is already reached (the run is at {}): raise max_duration, or call fit(duration), to train further",
        to_string(*state.max_duration), to_string(state.timestamp.get(state.max_duration->unit()))));
  }
  if (state.dataloader_len() <= 0) throw ConfigError("fit(): the train dataloader yields no batches");
  state.clear_stop_request();
  fitted_ = true;
  stopped_by_signal_ = 0;
  std::optional<SignalGuard> signals;  // SIGTERM/SIGINT handled for the duration of the loop only
  if (options_.handle_signals()) signals.emplace();
  try {
    train_loop();
  } catch (...) {
    // Every callback closes (a saver waits for its background save, so not even a failed fit()
    // leaves a checkpoint being written behind it); the first error stands.
    state.checkpoint_copy.wait();
    close_callbacks();
    throw;
  }
  close_callbacks();
}

bool Trainer::signal_pending() const {
  // With several ranks only the signal they agreed on counts: every rank skips the same evaluations.
  if (state_->comm) return stopped_by_signal_ != 0;
  return options_.handle_signals() && (stopped_by_signal_ != 0 || SignalGuard::pending() != 0);
}

void Trainer::close_callbacks() {
  for (const auto& failure : engine_->close()) state_->env->warn(failure);
}

bool Trainer::poll_stop_signal() {
  if (state_->comm) {
    // Every rank stops at the same batch: a stop request or a signal on any rank stops them all.
    const int mine = options_.handle_signals() && stopped_by_signal_ == 0 ? SignalGuard::pending() : 0;
    const auto [stop, signal] = agree_on_stop(*state_, state_->stop_requested() || mine != 0, mine);
    if (signal != 0 && stopped_by_signal_ == 0) {
      stopped_by_signal_ = signal;
      state_->request_stop(signal_name(signal));
      return true;
    }
    if (stop && !state_->stop_requested()) state_->request_stop("another rank asked to stop");
    return false;
  }
  if (!options_.handle_signals() || stopped_by_signal_ != 0) return false;
  const int signal_number = SignalGuard::pending();
  if (signal_number == 0) return false;
  stopped_by_signal_ = signal_number;
  state_->request_stop(signal_name(signal_number));
  return true;
}

void Trainer::train_loop() {
  auto& state = *state_;
  auto& loader = *state.train_dataloader;
  std::unique_ptr<BatchPrefetcher> prefetcher;
  if (prefetch_pays(loader)) prefetcher = std::make_unique<BatchPrefetcher>(loader);
  engine_->run_event(Event::FIT_START);
  state.model->train();
  auto last_wct = Clock::now();

  while (true) {
    poll_stop_signal();  // a signal during FIT_START or the epoch events
    if (state.elapsed_fraction() >= 1.0 || state.stop_requested()) break;
    if (state.timestamp.epoch_in_iteration() == 0 && state.timestamp.batch_in_epoch() == 0) {
      engine_->run_event(Event::ITERATION_START);
    }
    if (state.timestamp.batch_in_epoch() == 0) {
      engine_->run_event(Event::EPOCH_START);
      logger_->log_metrics({{"time/epoch", static_cast<double>(state.timestamp.epoch())}});
    }

    const int64_t num_batches = state.dataloader_len();  // optimizer steps
    bool finished_epoch_early = false;
    while (true) {
      engine_->run_event(Event::BEFORE_DATALOADER);
      if (state.timestamp.batch_in_epoch() >= num_batches) break;  // the loader is exhausted
      state.batch = next_train_batch(prefetcher.get(), num_batches).to(state.device);
      const int64_t num_samples = state.batch.size(), num_tokens = state.batch.num_tokens;
      engine_->run_event(Event::AFTER_DATALOADER);
      engine_->run_event(Event::BATCH_START);

      // Composer resets the training metrics on every batch and updates them from its outputs.
      for (auto& [name, metric] : state.train_metrics) metric->reset();
      train_batch();
      if (!state.train_metrics.empty()) {
        // Queued before the loss is read back, so that one wait covers both.
        torch::NoGradGuard no_grad;
        for (auto& [name, metric] : state.train_metrics) metric->update(state.outputs, state.batch);
      }
      const double loss = reduce_batch(state, state.loss.item<double>());  // the mean over ranks
      logger_->log_metrics({{"loss/train/total", loss}});

      const auto now = Clock::now();
      const double batch_time = std::chrono::duration<double>(now - last_wct).count();
      last_wct = now;
      for (auto& scheduler : state.schedulers) scheduler->step(state);
      logger_->log_metric_values("train", state.train_metrics);

      state.previous_timestamp = state.timestamp;
      // Samples and tokens of every rank, as Composer counts them (the sampler gives each rank as many).
      state.timestamp = state.timestamp.to_next_batch(num_samples * state.world_size, num_tokens * state.world_size, batch_time);
      engine_->run_event(Event::BATCH_END);

      // Evaluation time is not training time. A preempted job has seconds: a signal skips the
      // evaluation due at this batch and goes straight to its checkpoint.
      const auto eval_start = Clock::now();
      if (!signal_pending()) run_evaluators(Event::BATCH_END);
      last_wct += Clock::now() - eval_start;

      engine_->run_event(Event::BATCH_CHECKPOINT);
      poll_stop_signal();
      if (state.elapsed_fraction() >= 1.0 || state.stop_requested()) {
        finished_epoch_early = true;
        break;
      }
    }

    if (!finished_epoch_early || state.timestamp.batch_in_epoch() == num_batches) {
      logger_->log_metric_values("train", state.train_metrics);  // Composer logs them again here
      state.previous_timestamp = state.timestamp;
      state.timestamp = state.timestamp.to_next_epoch();
      engine_->run_event(Event::EPOCH_END);
      const auto eval_start = Clock::now();
      if (!signal_pending()) run_evaluators(Event::EPOCH_END);
      last_wct += Clock::now() - eval_start;
      engine_->run_event(Event::EPOCH_CHECKPOINT);
    }
  }

  logger_->log_metrics({{"time/epoch", static_cast<double>(state.timestamp.epoch())},
                        {"time/batch", static_cast<double>(state.timestamp.batch())},
                        {"time/sample", static_cast<double>(state.timestamp.sample())}});
  poll_stop_signal();
  // A stopped run's savers write the batch it stopped at in FIT_END (CheckpointSaver::on_fit_end).
  engine_->run_event(Event::FIT_END);
  // A preempted job has seconds left: no final evaluation, also for a signal during FIT_END (the
  // savers hold the last batch already: training was over or stopped).
  poll_stop_signal();
  if (stopped_by_signal_ == 0) {
    run_evaluators(Event::FIT_END);
  } else if (state.elapsed_fraction() >= 1.0) {
    // The signal stopped nothing: training had reached max_duration and its checkpoint is written,
    // so the run is reported complete (not stopped: exit 0, not 143), without the final evaluation.
    state.env->warn(fmt::format("{} arrived after run '{}' reached max_duration {}: the run is complete; its final "
                                "evaluation is skipped", signal_name(stopped_by_signal_), state.run_name,
                                to_string(*state.max_duration)));
    stopped_by_signal_ = 0;
  }
}

Batch Trainer::next_train_batch(BatchPrefetcher* prefetcher, int64_t num_batches) {
  const auto& state = *state_;
  const int64_t epoch = state.timestamp.epoch();
  const int64_t k = state.timestamp.batch_in_epoch();
  bool last_step = false;  // whether this step ends the run
  if (state.max_duration) {
    const auto& max = *state.max_duration;
    last_step = (max.unit() == TimeUnit::BATCH && state.timestamp.batch() + 1 >= max.count()) ||
                (max.unit() == TimeUnit::EPOCH && k + 1 >= num_batches && epoch + 1 >= max.count());
  }
  // Step k of the epoch is loader batches [k * N, min((k + 1) * N, loader batches)).
  const int64_t n = state.gradient_accumulation_steps;
  step_parts_.clear();
  return fetch_batches(*state.train_dataloader, prefetcher, epoch, k * n,
                       std::min(k * n + n, state.train_dataloader->num_batches()), last_step, step_parts_);
}

void Trainer::zero_grads() {
  // Zeroed in place rather than set to none: freeing and reallocating large gradients each step
  // costs page faults (glibc returns big blocks to the OS), measured at up to 1.5x per step here.
  for (auto& optimizer : state_->optimizers) zero_grad_in_place(*optimizer);
}

void Trainer::train_batch() {
  auto& state = *state_;
  engine_->run_event(Event::BEFORE_TRAIN_BATCH);
  zero_grads();
  if (ddp_) ddp_->before_forward();
  sync_backward_ = true;
  const int64_t microbatch_size = state.device_train_microbatch_size;
  if (step_parts_.size() > 1 || (microbatch_size > 0 && microbatch_size < state.batch.size())) {
    train_microbatches();
  } else {
    state.loss = train_microbatch(1.0);
  }
  // Drop the graph's reference now rather than at the next batch.
  state.outputs = state.outputs.detach();

  if (state.scaler) {
    for (auto& optimizer : state.optimizers) state.scaler->unscale_(*optimizer);
  }
  if (options_.clipping_type() != ClippingType::NONE) {
    state.grad_norm = clip_gradients(state.model->parameters(), options_.clipping_type(), options_.clipping_threshold());
    logger_->log_metrics({{"l2_norm/grad/global", *state.grad_norm}});  // Composer's OptimizerMonitor name
  }
  engine_->run_event(Event::AFTER_TRAIN_BATCH);

  // A save_async snapshot may still be copying the parameters and optimizer state that the step
  // is about to change; its copy ran beside this batch's forward and backward.
  state.checkpoint_copy.wait();
  if (state.scaler) {
    bool skipped = false;
    for (auto& optimizer : state.optimizers) skipped = !state.scaler->step(*optimizer) || skipped;
    state.scaler->update();
    state.optimizer_step_was_skipped = skipped;
  } else {
    for (auto& optimizer : state.optimizers) optimizer->step();
    state.optimizer_step_was_skipped = false;
  }
}

at::Tensor Trainer::train_microbatch(double fraction) {
  auto& state = *state_;
  const auto precision = options_.precision();
  engine_->run_event(Event::BEFORE_FORWARD);
  {
    AutocastGuard autocast(precision, state.device);
    state.outputs = state.model->forward(state.batch.input);
  }
  engine_->run_event(Event::AFTER_FORWARD);
  engine_->run_event(Event::BEFORE_LOSS);
  {
    AutocastGuard autocast(precision, state.device);
    state.loss = state.model->loss(state.outputs, state.batch);
  }
  engine_->run_event(Event::AFTER_LOSS);
  engine_->run_event(Event::BEFORE_BACKWARD);
  // Read after BEFORE_BACKWARD, which may change the loss. Weighted by the microbatch's share of
  // the batch's samples, so a mean loss's gradients sum to the whole batch's (Composer's rule).
  const at::Tensor loss = fraction == 1.0 ? state.loss : state.loss * fraction;
  // With several ranks the step's last backward all-reduces the gradients as it goes (DDP).
  if (ddp_) ddp_->arm(sync_backward_);
  try {
    if (state.scaler) {
      state.scaler->scale(loss).backward();
    } else {
      loss.backward();
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    if (ddp_ && sync_backward_) state.comm->fail("the gradient all-reduce in backward", e);
    throw;
  }
  engine_->run_event(Event::AFTER_BACKWARD);
  return loss.detach();
}

void Trainer::train_microbatches() {
  auto& state = *state_;
  const Batch batch = state.batch;  // views of it become state.batch, one microbatch at a time
  const int64_t batch_size = batch.size();
  const int64_t microbatch_size = state.device_train_microbatch_size;
  at::Tensor total_loss;
  std::vector<at::Tensor> outputs;
  bool concatenable = true;
  // Each loader batch of the step (one unless gradients accumulate over loader batches), split
  // into microbatches of microbatch_size when that is set.
  const auto parts = step_parts_.empty() ? std::vector<int64_t>{batch_size} : step_parts_;
  int64_t offset = 0;
  for (const int64_t part : parts) {
    const int64_t piece = microbatch_size > 0 ? microbatch_size : part;
    for (int64_t start = 0; start < part; start += piece) {
      const int64_t length = std::min(piece, part - start);
      state.batch = batch.narrow(offset + start, length);
      sync_backward_ = offset + part == batch_size && start + length == part;  // DDP's no_sync before
      const auto loss = train_microbatch(static_cast<double>(length) / static_cast<double>(batch_size));
      total_loss = total_loss.defined() ? total_loss + loss : loss;
      outputs.push_back(state.outputs.detach());
      concatenable = concatenable && outputs.back().dim() > 0 && outputs.back().size(0) == length;
    }
    offset += part;
  }
  state.batch = batch;
  state.loss = total_loss;
  // The whole batch's outputs, in sample order, when they have a sample dimension; else the last
  // microbatch's (as Composer leaves them).
  if (concatenable) state.outputs = torch::cat(outputs);
}

std::vector<std::string> Trainer::saved_checkpoints() const {
  return checkpoint_saver_ ? checkpoint_saver_->saved_checkpoints() : std::vector<std::string>{};
}

c10::IValue Trainer::state_dict() const {
  state_->gather_rng();
  return make_checkpoint_tree(*state_);
}

std::string Trainer::load_state_dict(const c10::IValue& checkpoint, const CheckpointLoadOptions& options) {
  auto result = load_checkpoint_tree(*state_, checkpoint, "<memory>", options);
  if (!result.rng.isNone()) load_rng_state_dict(result.rng);
  return result.report;
}

}  // namespace tempo
