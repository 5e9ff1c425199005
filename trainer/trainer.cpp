#include "trainer/trainer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "callbacks/name_format.h"
#include "data/data_loader.h"
#include "errors/error.h"
#include "state/checkpoint_tree.h"
#include "state/model.h"
#include "state/rng.h"
#include "state/scheduler.h"
#include "state/tree.h"
#include "trainer/checkpoint_loading.h"
#include "trainer/device.h"
#include "trainer/engine.h"
#include "trainer/signal_handling.h"

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

}  // namespace

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)), state_(std::make_unique<State>()) {
  auto& state = *state_;
  if (!options_.model()) throw ConfigError("Trainer: 'model' is required");
  if (!options_.train_dataloader()) throw ConfigError("Trainer: 'train_dataloader' is required");
  if (options_.optimizers().empty()) throw ConfigError("Trainer: 'optimizers' needs at least one optimizer");
  if (options_.max_duration()) check_max_duration(*options_.max_duration());

  state.device = resolve_device(options_.device());
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
  state.train_dataloader->set_default_seed(state.rank_zero_seed);

  evaluators_ = options_.evaluators();
  if (options_.eval_dataloader()) {
    evaluators_.insert(evaluators_.begin(), Evaluator{"eval", options_.eval_dataloader(), std::nullopt,
                                                      options_.eval_subset_num_batches()});
  }
  for (auto& evaluator : evaluators_) {
    if (!evaluator.dataloader) throw ConfigError(fmt::format("evaluator '{}' has no dataloader", evaluator.label));
    const auto& interval = evaluator.eval_interval.value_or(options_.eval_interval());
    eval_schedules_.push_back(interval.make_scheduler(/*include_end_of_training=*/true,
                                                      /*checkpoint_events=*/false, {Event::FIT_END}));
  }

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
                                                              .ignore_errors(options_.save_ignore_errors()));
    callbacks.push_back(checkpoint_saver_);
  }
  if (options_.autoresume()) {
    if (options_.run_name().empty() || options_.save_folder().empty()) {
      throw ConfigError("autoresume needs an explicit run_name and a save_folder, to know which run to continue");
    }
  }
  logger_ = std::make_unique<Logger>(options_.loggers());
  for (auto& callback : callbacks) state.register_callback_state(callback->name(), callback);
  for (auto& destination : options_.loggers()) state.register_callback_state(destination->name(), destination);
  engine_ = std::make_unique<Engine>(state, *logger_, callbacks);

  seed_all(state.rank_zero_seed + static_cast<uint64_t>(state.rank));
  engine_->run_event(Event::INIT);
  logger_->log_hyperparameters({{"rank_zero_seed", std::to_string(state.rank_zero_seed)},
                                {"run_name", state.run_name}});
  engine_->run_event(Event::BEFORE_LOAD);
  auto loaded_rng = load_initial_checkpoint();
  engine_->run_event(Event::AFTER_LOAD);
  // Callbacks may draw random numbers at INIT; reseed so the run starts from the seed alone,
  // then put back the generators of a loaded checkpoint.
  seed_all(state.rank_zero_seed + static_cast<uint64_t>(state.rank));
  if (!loaded_rng.isNone()) load_rng_state_dict(loaded_rng);
}

c10::IValue Trainer::load_initial_checkpoint() {
  auto& state = *state_;
  std::string path = options_.load_path();
  c10::IValue tree;
  CheckpointLoadOptions load_options;
  load_options.weights_only = options_.load_weights_only();
  load_options.strict_model_weights = options_.load_strict_model_weights();
  load_options.ignore_keys = options_.load_ignore_keys();
  if (options_.autoresume()) {
    if (auto found = find_autoresume_checkpoint(state, options_.save_folder(), options_.save_filename(),
                                                options_.save_latest_filename())) {
      path = found->path;
      tree = found->tree;
      load_options.weights_only = false;  // resuming a run restores all of it
    }
  }
  if (path.empty()) return c10::IValue();
  if (tree.isNone()) tree = read_checkpoint_or_weights(path);
  auto result = load_checkpoint_tree(state, tree, path, load_options);
  if (!result.report.empty()) {
    std::fprintf(stderr, "tempo: warning: loading '%s' skipped %s\n", path.c_str(), result.report.c_str());
  }
  resumed_from_ = path;
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
    std::fprintf(stderr, "tempo: run '%s' already reached max_duration %s; nothing to train\n", state.run_name.c_str(),
                 to_string(*state.max_duration).c_str());
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
  signal_checkpoints_.clear();
  std::optional<SignalGuard> signals;  // SIGTERM/SIGINT handled for the duration of the loop only
  if (options_.handle_signals()) signals.emplace();
  train_loop();
}

bool Trainer::poll_stop_signal() {
  if (!options_.handle_signals() || stopped_by_signal_ != 0) return false;
  const int signal_number = SignalGuard::pending();
  if (signal_number == 0) return false;
  stopped_by_signal_ = signal_number;
  state_->request_stop(signal_name(signal_number));
  return true;
}

void Trainer::save_for_signal() {
  namespace fs = std::filesystem;
  auto& state = *state_;
  signal_checkpoints_.clear();
  if (state.timestamp.batch() == 0) return;  // nothing trained, nothing to keep
  std::vector<std::shared_ptr<CheckpointSaver>> savers;
  if (checkpoint_saver_) savers.push_back(checkpoint_saver_);
  for (const auto& callback : options_.callbacks()) {
    if (auto saver = std::dynamic_pointer_cast<CheckpointSaver>(callback)) savers.push_back(saver);
  }
  for (const auto& saver : savers) {
    // The saver may already have saved this batch (its interval fired): keep that file.
    const fs::path folder = NameFormat(saver->options().folder(), "save_folder").format(state);
    const auto path =
        (folder / NameFormat(saver->options().filename(), "save_filename").format(state)).lexically_normal().string();
    std::error_code error;
    const auto saved = fs::exists(path, error) ? path : saver->save(state);
    if (!saved.empty()) signal_checkpoints_.push_back(saved);  // empty: failed under save_ignore_errors
  }
}

void Trainer::train_loop() {
  auto& state = *state_;
  auto& loader = *state.train_dataloader;
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

    const int64_t num_batches = loader.num_batches();
    bool finished_epoch_early = false;
    while (true) {
      engine_->run_event(Event::BEFORE_DATALOADER);
      if (state.timestamp.batch_in_epoch() >= num_batches) break;  // the loader is exhausted
      state.batch = loader.batch(state.timestamp.epoch(), state.timestamp.batch_in_epoch()).to(state.device);
      const int64_t num_samples = state.batch.size();
      engine_->run_event(Event::AFTER_DATALOADER);
      engine_->run_event(Event::BATCH_START);

      train_batch();
      const double loss = state.loss.item<double>();
      state.train_metrics["loss"] = loss;
      logger_->log_metrics({{"loss/train/total", loss}});

      const auto now = Clock::now();
      const double batch_time = std::chrono::duration<double>(now - last_wct).count();
      last_wct = now;
      for (auto& scheduler : state.schedulers) scheduler->step(state);

      state.previous_timestamp = state.timestamp;
      state.timestamp = state.timestamp.to_next_batch(num_samples, 0, batch_time);
      engine_->run_event(Event::BATCH_END);

      // Evaluation time is not training time.
      const auto eval_start = Clock::now();
      run_evaluators(Event::BATCH_END);
      last_wct += Clock::now() - eval_start;

      engine_->run_event(Event::BATCH_CHECKPOINT);
      poll_stop_signal();
      if (state.elapsed_fraction() >= 1.0 || state.stop_requested()) {
        finished_epoch_early = true;
        break;
      }
    }

    if (!finished_epoch_early || state.timestamp.batch_in_epoch() == num_batches) {
      state.previous_timestamp = state.timestamp;
      state.timestamp = state.timestamp.to_next_epoch();
      engine_->run_event(Event::EPOCH_END);
      const auto eval_start = Clock::now();
      run_evaluators(Event::EPOCH_END);
      last_wct += Clock::now() - eval_start;
      engine_->run_event(Event::EPOCH_CHECKPOINT);
    }
  }

  logger_->log_metrics({{"time/epoch", static_cast<double>(state.timestamp.epoch())},
                        {"time/batch", static_cast<double>(state.timestamp.batch())},
                        {"time/sample", static_cast<double>(state.timestamp.sample())}});
  poll_stop_signal();
  // Preempted: checkpoint before FIT_END (whose loggers then see it), whatever the interval.
  if (stopped_by_signal_ != 0) save_for_signal();
  engine_->run_event(Event::FIT_END);
  if (stopped_by_signal_ == 0 && poll_stop_signal()) save_for_signal();  // a signal during FIT_END
  // A preempted job has seconds left: no final evaluation.
  if (stopped_by_signal_ == 0) run_evaluators(Event::FIT_END);
}

void Trainer::zero_grads() {
  // Zeroed in place rather than set to none: freeing and reallocating large gradients each step
  // costs page faults (glibc returns big blocks to the OS), measured at up to 1.5x per step here.
  for (auto& optimizer : state_->optimizers) optimizer->zero_grad();
}

void Trainer::train_batch() {
  auto& state = *state_;
  engine_->run_event(Event::BEFORE_TRAIN_BATCH);
  zero_grads();
  engine_->run_event(Event::BEFORE_FORWARD);
  state.outputs = state.model->forward(state.batch.input);
  engine_->run_event(Event::AFTER_FORWARD);
  engine_->run_event(Event::BEFORE_LOSS);
  state.loss = state.model->loss(state.outputs, state.batch);
  engine_->run_event(Event::AFTER_LOSS);
  engine_->run_event(Event::BEFORE_BACKWARD);
  state.loss.backward();
  engine_->run_event(Event::AFTER_BACKWARD);
  engine_->run_event(Event::AFTER_TRAIN_BATCH);
  for (auto& optimizer : state.optimizers) optimizer->step();
  // Drop the graph's reference now rather than at the next batch.
  state.loss = state.loss.detach();
  state.outputs = state.outputs.detach();
}

void Trainer::run_evaluators(Event event) {
  std::vector<size_t> due;
  for (size_t i = 0; i < evaluators_.size(); ++i) {
    if (eval_schedules_[i](*state_, event)) due.push_back(i);
  }
  if (due.empty()) return;
  engine_->run_event(Event::EVAL_BEFORE_ALL);
  for (auto i : due) eval_loop(evaluators_[i]);
  engine_->run_event(Event::EVAL_AFTER_ALL);
}

void Trainer::eval_loop(Evaluator& evaluator) {
  auto& state = *state_;
  auto& loader = *evaluator.dataloader;
  const auto saved_batch = state.batch;
  const auto saved_outputs = state.outputs;
  engine_->run_event(Event::EVAL_START);
  state.model->eval();
  int64_t num_batches = loader.num_batches();
  if (evaluator.subset_num_batches >= 0) num_batches = std::min(num_batches, evaluator.subset_num_batches);

  double loss_sum = 0.0;
  int64_t correct = 0, seen = 0;
  bool classification = true;
  {
    torch::NoGradGuard no_grad;
    for (int64_t k = 0; k < num_batches; ++k) {
      engine_->run_event(Event::EVAL_BATCH_START);
      state.batch = loader.batch(0, k).to(state.device);
      engine_->run_event(Event::EVAL_BEFORE_FORWARD);
      state.outputs = state.model->forward(state.batch.input);
      engine_->run_event(Event::EVAL_AFTER_FORWARD);
      const auto n = state.batch.size();
      loss_sum += state.model->loss(state.outputs, state.batch).item<double>() * static_cast<double>(n);
      classification = classification && state.outputs.dim() == 2 && state.batch.target.dim() == 1 &&
                       state.batch.target.scalar_type() == torch::kLong;
      if (classification) correct += state.outputs.argmax(1).eq(state.batch.target).sum().item<int64_t>();
      seen += n;
      engine_->run_event(Event::EVAL_BATCH_END);
    }
  }
  auto& metrics = state.eval_metrics[evaluator.label];
  if (seen > 0) {
    metrics["CrossEntropy"] = loss_sum / static_cast<double>(seen);
    if (classification) metrics["Accuracy"] = static_cast<double>(correct) / static_cast<double>(seen);
    Metrics logged;
    for (const auto& [name, value] : metrics) logged[fmt::format("metrics/{}/{}", evaluator.label, name)] = value;
    logger_->log_metrics(logged);
  }
  engine_->run_event(Event::EVAL_END);
  state.model->train();
  state.batch = saved_batch;
  state.outputs = saved_outputs;
}

void Trainer::eval() {
  engine_->run_event(Event::EVAL_STANDALONE_START);
  for (auto& evaluator : evaluators_) eval_loop(evaluator);
  engine_->run_event(Event::EVAL_STANDALONE_END);
}

std::vector<std::string> Trainer::saved_checkpoints() const {
  return checkpoint_saver_ ? checkpoint_saver_->saved_checkpoints() : std::vector<std::string>{};
}

c10::IValue Trainer::state_dict() const { return make_checkpoint_tree(*state_); }

std::string Trainer::load_state_dict(const c10::IValue& checkpoint, const CheckpointLoadOptions& options) {
  auto result = load_checkpoint_tree(*state_, checkpoint, "<memory>", options);
  if (!result.rng.isNone()) load_rng_state_dict(result.rng);
  return result.report;
}

}  // namespace tempo
