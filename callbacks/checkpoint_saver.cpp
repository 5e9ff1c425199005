// How the saver works (the contract is in the header).
//
// Names: a CheckpointFolder formats them and refuses one that leaves the folder. Without overwrite,
// a fresh run whose folder holds this run's checkpoints fails at FIT_START, before any training is
// lost; FIT_START also lists what earlier runs left (rotation counts them) and removes temporaries
// of killed saves (whose pid is not a live process, or is this one: no save is in flight then).
//
// Faults: a failed save (disk full, I/O error, unusable folder) leaves no partial file, `latest` on
// the previous checkpoint and deletes nothing (rotation runs after a complete save), then throws
// CheckpointError naming the file and the OS error (ignore_errors: warns, and training goes on).
//
// Stops: a run stopped before max_duration (state.request_stop; SIGTERM/SIGINT become one) has its
// batch written at FIT_END unless saved already: the only preemption save, one file per batch.
//
// Best checkpoint (best_metric "<dataloader label>/<metric name>", e.g. "eval/Accuracy"): after
// each evaluation of that label whose metric is better than every earlier one (best_comparator,
// or Composer's default by name: "less" for losses, errors and perplexities), best_filename
// becomes a hard link (a copy where links are refused) to the checkpoint of that batch, made
// atomically; when the interval saves nothing at that batch, the best checkpoint is written there
// directly. It is not one of saved_checkpoints(): rotation neither counts nor deletes it. The best
// value, its batch and path are the saver's state (state/callbacks/CheckpointSaver).
//
// save_async: at the checkpoint event the saver copies the state to host memory (a
// CheckpointSnapshot, whose staging buffers are reused from save to save) and a background thread
// writes that copy: the same atomic write, latest link, rotation and best link, in the same order
// as a synchronous save, so a reader sees the same files. Only the buffers and the small entries
// are copied at the event; the parameters and optimizer state, which only the optimizer step
// changes, are copied by the writer thread while the next batch's forward and backward run, and
// the trainer waits for that copy (State::checkpoint_copy) before its optimizer step. A save that
// finds one of them changed during its copy fails (tempo::Error naming the tensor, whatever
// ignore_errors) and writes nothing. One save is in flight at a time: the next save (and
// FIT_START, FIT_END, save(), wait(), on_close) first waits for it, so the staging memory is never
// overwritten while it is written. Decided at the event: the file name, the refusal of an
// existing file and that the batch counts as saved. Done on completion: saved_checkpoints() gains
// the file and rotation deletes, so `latest` only names durable files and rotation never deletes
// one a pending save relies on. A failure is reported at the saver's next event once the thread
// has finished, or when something waits for it, at the latest at FIT_END (on_close when fit()
// failed): as CheckpointError, or with ignore_errors as the warning a synchronous save prints.
#include "tempo/callbacks/checkpoint_saver.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <system_error>
#include <thread>
#include <utility>

#include "tempo/callbacks/checkpoint_background_save.h"
#include "tempo/callbacks/checkpoint_uploader.h"
#include "tempo/callbacks/logger.h"
#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/checkpoint_tree.h"
#include "tempo/state/model.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"
#include "tempo/distributed/communicator.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

// Takes off the front of `saved` (oldest first) what rotation drops, never `newest`; returns it.
// Keep 0 keeps what 1 keeps here: without a store a run must keep something to resume from, and
// with one the uploader removes each local copy once it is uploaded.
std::vector<std::string> drop_oldest(std::vector<std::string>& saved, const std::string& newest, int64_t keep) {
  std::vector<std::string> dropped;
  if (keep < 0) return dropped;
  keep = std::max<int64_t>(keep, 1);
  while (static_cast<int64_t>(saved.size()) > keep) {
    auto oldest = saved.front();
    saved.erase(saved.begin());
    if (oldest != newest) dropped.push_back(std::move(oldest));
  }
  return dropped;
}

// Composer's rule: a URI save_folder's path part is the local folder checkpoints are written to
// before they are uploaded ("." when it has none), and each file's key is its local path.
std::string local_folder(const std::string& folder) {
  if (!is_object_uri(folder)) return folder;
  const auto key = parse_object_uri(folder, "save_folder").key;
  return key.empty() ? "." : key;
}

void warn_not_saved(Env& env, int64_t batch, bool written, const char* what) {
  env.warn(fmt::format("the checkpoint of batch {} {} (save_ignore_errors is set: training continues): {}", batch,
                       written ? "was written but the latest link was not moved to it" : "was not saved", what));
}

void warn_best_not_kept(Env& env, int64_t batch, const char* what) {
  env.warn(fmt::format("the best checkpoint of batch {} was not kept (save_ignore_errors is set: training continues): {}",
                       batch, what));
}

// Background saves report nothing: loggers are called on the trainer's thread only, and the
// training loop does not wait for those writes.
CheckpointProgressFn saving_progress(Logger* logger, const std::string& path) {
  if (logger == nullptr) return {};
  return [logger, path](uint64_t done, uint64_t total) { logger->log_checkpoint_progress({"saving", path, done, total}); };
}

// With several ranks, this rank takes part in saves but writes nothing: rank 0 writes every file.
bool follows(const State& state) { return state.comm != nullptr && state.rank != 0; }

int64_t rank_zero_value(State& state, int64_t value) {  // rank 0's `value` on every rank
  std::vector<at::Tensor> one{at::full({1}, value, at::kLong)};
  state.comm->broadcast(one, 0, "sharing which batch rank 0's save folder holds");
  return one[0].item<int64_t>();
}
std::string durable_barrier(int64_t batch) {
  return fmt::format("waiting for rank 0's checkpoint of batch {} to be durable", batch);
}

}  // namespace

CheckpointSaver::CheckpointSaver(CheckpointSaverOptions options)
    : options_(std::move(options)),
      folder_(local_folder(options_.folder()), options_.filename(), options_.latest_filename()),
      should_save_(options_.save_interval().make_scheduler(
          /*include_end_of_training=*/true, /*checkpoint_events=*/true,
          {Event::BATCH_CHECKPOINT, Event::EPOCH_CHECKPOINT, Event::ITERATION_CHECKPOINT})),
      best_filename_(options_.best_filename(), "best_filename") {
  if (is_object_uri(options_.folder())) {
    remote_ = parse_object_uri(options_.folder(), "save_folder");
    check_object_store_options(options_.object_store());
  }
  if (options_.remote_num_checkpoints_to_keep() < -1) {
    throw ConfigError(fmt::format("save_remote_num_checkpoints_to_keep is {}: expected -1 (keep all) or a number of "
                                  "checkpoints", options_.remote_num_checkpoints_to_keep()));
  }
  const auto& interval = options_.save_interval();
  folder_.check_names_differ(options_.overwrite() ||
                             (interval.is_time() && interval.time().is_duration() && interval.time().value() >= 1.0));
  if (options_.num_checkpoints_to_keep() < -1) {
    throw ConfigError(fmt::format("save_num_checkpoints_to_keep is {}: expected -1 (keep all) or a number of checkpoints",
                                  options_.num_checkpoints_to_keep()));
  }
  if (!options_.best_metric().empty()) {
    const auto& metric = options_.best_metric();
    const auto slash = metric.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == metric.size()) {
      throw ConfigError(fmt::format("best_metric '{}' is not '<dataloader label>/<metric name>' (e.g. 'eval/Accuracy')",
                                    metric));
    }
    if (options_.best_filename().empty()) throw ConfigError("best_filename is empty while best_metric is set");
    CheckpointFolder::check_file_pattern(best_filename_, "best_filename");
    best_monitor_.emplace(metric.substr(slash + 1), metric.substr(0, slash), options_.best_comparator(), "best_metric");
  }
}

CheckpointSaver::~CheckpointSaver() {
  try {
    finish_background(/*block=*/true);
  } catch (const std::exception& e) {
    env_->warn(std::string("a background checkpoint save failed: ") + e.what());
  } catch (...) {
    env_->warn("a background checkpoint save failed");
  }
}

void CheckpointSaver::on_event(Event, State& state, Logger&) {
  env_ = state.env;
  // A background save that finished is taken in at the first event after: its error is not held back.
  finish_background(/*block=*/false);
  report_upload_failures();
}

void CheckpointSaver::on_fit_start(State& state, Logger&) {
  // A save left in flight by a fit() that threw: its temporary is not stale.
  finish_background(/*block=*/true);
  fit_ended_ = false;
  best_pending_ = false;
  claim(state);
}

void CheckpointSaver::claim(State& state) {
  if (claimed_) return;
  env_ = state.env;
  if (follows(state)) {
    // Rank 0 owns the folder and says which batch it holds (a claim that fails there fails this
    // broadcast, naming rank 0), so that every rank decides its saves alike.
    last_saved_batch_ = rank_zero_value(state, last_saved_batch_);
    claimed_ = true;
    return;
  }
  // A name that leaves the folder is refused before anything is created.
  folder_.checkpoint_path(state);
  folder_.latest_path(state);
  const auto root = folder_.root(state);
  std::error_code error;
  env_->create_directories(root, error);
  if (error) {
    throw CheckpointError(fmt::format("save folder '{}': cannot create it: {}", root, error.message()));
  }
  // One lock file per rank: the ranks of one run share the folder, two runs do not.
  const auto why = lock_.acquire(root, fmt::format(".tempo-rank{}.lock", state.rank));
  if (!why.empty()) {
    throw CheckpointError(fmt::format("save folder '{}' {}: two runs must not write one folder; wait for that run "
                                      "to end, or choose another save_folder",
                                      root, why));
  }
  try {
    adopt_folder(state);
    if (remote_) adopt_remote(state);
  } catch (...) {
    uploader_.reset();
    lock_.release();
    throw;
  }
  if (state.comm) rank_zero_value(state, last_saved_batch_);
  claimed_ = true;
}

// What earlier runs left in the folder: stale temporaries go, checkpoints count for rotation, and
// a fresh run without overwrite may not take over a folder holding this run's checkpoints.
void CheckpointSaver::adopt_folder(State& state) {
  for (const auto& removal : folder_.remove_stale_temporaries(state)) {
    env_->warn(removal.error.empty()
                   ? fmt::format("removed '{}', left by an interrupted save of process {}", removal.path, removal.writer)
                   : fmt::format("cannot remove '{}', left by an interrupted save of process {}: {}", removal.path,
                                 removal.writer, removal.error));
  }
  // Rebuild the list from the folder, so rotation also counts what earlier runs wrote; the best
  // checkpoint is never rotated.
  const auto best = best_monitor_ ? folder_.inside(state, best_filename_.format(state), "best_filename") : std::string();
  const auto found = folder_.list(state, best);
  for (auto entry = found.rbegin(); entry != found.rend(); ++entry) {  // oldest first
    if (std::find(saved_.begin(), saved_.end(), entry->path) == saved_.end()) saved_.push_back(entry->path);
  }
  // A run resumed from this folder holds its starting batch's checkpoint already: a stop before the
  // next batch does not write it again.
  const auto path = folder_.checkpoint_path(state);
  if (state.timestamp.batch() > 0 &&
      std::any_of(found.begin(), found.end(), [&](const CheckpointFolder::Entry& e) { return e.path == path; })) {
    last_saved_batch_ = state.timestamp.batch();
    last_saved_path_ = path;
  }
  if (!options_.overwrite() && state.timestamp.batch() == 0 && !found.empty()) {
    throw CheckpointError(fmt::format(
        "save folder '{}' already holds checkpoints named as this run's would be (e.g. '{}'), from an earlier run; "
        "set autoresume to continue that run, save_overwrite to replace its checkpoints, or choose another "
        "save_folder or run_name",
        folder_.folder(state), found.front().path));
  }
}

void CheckpointSaver::adopt_remote(State& state) {
  auto options = options_.object_store();
  if (options.env() == nullptr) options.env(state.env);
  auto store = make_object_store(*remote_, options);  // missing credentials fail here, before training
  const auto root = folder_.root(state);
  std::vector<ObjectInfo> objects;
  try {
    objects = store->list(root == "." ? "" : root + "/");
  } catch (const StorageError& e) {
    throw CheckpointError(fmt::format("save_folder '{}': cannot list the remote folder: {}", options_.folder(),
                                      e.what()));
  }
  const auto found = folder_.match(state, objects, "");
  if (!options_.overwrite() && state.timestamp.batch() == 0 && !found.empty()) {
    throw CheckpointError(fmt::format(
        "save folder '{}' already holds checkpoints named as this run's would be (e.g. {}), from an earlier run; set "
        "autoresume to continue that run, save_overwrite to replace its checkpoints, or choose another save_folder or "
        "run_name",
        options_.folder(), store->uri(found.front().path)));
  }
  std::vector<std::string> keys;
  for (auto entry = found.rbegin(); entry != found.rend(); ++entry) keys.push_back(entry->path);  // oldest first
  uploader_ = std::make_unique<CheckpointUploader>(std::move(store), options_.remote_num_checkpoints_to_keep(),
                                                   options_.num_checkpoints_to_keep() == 0, *state.env);
  uploader_->adopt(keys);
}

void CheckpointSaver::report_upload_failures() {
  if (!uploader_) return;
  for (const auto& failure : uploader_->take_failures()) env_->warn(failure);
}

std::vector<std::string> CheckpointSaver::finish_uploads() {
  if (!uploader_) return {};
  auto failures = uploader_->finish();
  remote_checkpoints_.clear();
  for (const auto& key : uploader_->uploaded()) remote_checkpoints_.push_back(uploader_->store().uri(key));
  return failures;
}

void CheckpointSaver::on_batch_checkpoint(State& state, Logger& logger) {
  on_checkpoint_event(state, Event::BATCH_CHECKPOINT, logger);
}
void CheckpointSaver::on_epoch_checkpoint(State& state, Logger& logger) {
  on_checkpoint_event(state, Event::EPOCH_CHECKPOINT, logger);
}
void CheckpointSaver::on_iteration_checkpoint(State& state, Logger& logger) {
  on_checkpoint_event(state, Event::ITERATION_CHECKPOINT, logger);
}

void CheckpointSaver::on_checkpoint_event(State& state, Event event, Logger& logger) {
  const int64_t batch = state.timestamp.batch();
  const bool save_now = should_save_(state, event) && batch != last_saved_batch_;
  const bool best_now = best_pending_ && best_batch_ == batch;
  if (take_part(state, save_now, best_now, save_now && !options_.save_async())) return;
  if (!options_.save_async()) {
    if (save_now) save(state, &logger);
    keep_best(state, &logger);
    if (save_now && state.comm) state.comm->barrier(durable_barrier(batch));
    return;
  }
  if (save_now) {
    start_background(state, /*save=*/true, best_now, &state);  // the best link follows the write
  } else if (best_now) {
    // This batch's checkpoint may be the save in flight: once it is durable the best checkpoint is
    // a link to it, made at once; without one it is written in the background.
    finish_background(/*block=*/true);
    if (last_saved_batch_ == batch && !saved_.empty()) {
      keep_best(state, &logger);
    } else {
      start_background(state, /*save=*/false, /*best=*/true, &state);
    }
  }
}

void CheckpointSaver::on_eval_end(State& state, Logger&) {
  if (!best_monitor_ || state.dataloader_label != best_monitor_->dataloader_label()) return;
  const double value = best_monitor_->value(state);
  if (best_value_ && !best_monitor_->better(value, *best_value_)) return;
  if (!best_value_ && std::isnan(value)) return;
  best_value_ = value;
  best_batch_ = state.timestamp.batch();
  best_path_ = folder_.inside(state, best_filename_.format(state), "best_filename");
  best_pending_ = true;  // the checkpoint event of this batch (or EVAL_AFTER_ALL after FIT_END) makes it
}

void CheckpointSaver::on_eval_after_all(State& state, Logger& logger) {
  // The evaluation after FIT_END has no checkpoint event after it.
  if (fit_ended_ && !take_part(state, false, best_pending_ && best_batch_ == state.timestamp.batch(), false)) {
    keep_best(state, &logger);
  }
}

bool CheckpointSaver::take_part(State& state, bool save_now, bool best_now, bool durable) {
  if (!save_now && !best_now) return follows(state);
  if (!options_.weights_only()) state.gather_rng();  // a collective: every rank, at the same point
  if (!follows(state)) return false;
  if (save_now) last_saved_batch_ = state.timestamp.batch();
  best_pending_ = best_pending_ && !best_now;
  if (durable) state.comm->barrier(durable_barrier(state.timestamp.batch()));
  return true;
}

void CheckpointSaver::keep_best(const State& state, Logger* logger) {
  if (!best_pending_ || best_batch_ != state.timestamp.batch()) return;
  finish_background(/*block=*/true);  // the checkpoint to link to may be the one in flight
  best_pending_ = false;
  const auto best = best_path_;
  try {
    make_parent(best, *state.env);
    std::error_code error;
    if (last_saved_batch_ == state.timestamp.batch() && !saved_.empty() && fs::exists(saved_.back(), error)) {
      atomic_hard_link(saved_.back(), best, *state.env);
    } else {
      write_checkpoint(make_checkpoint_tree(state, options_.weights_only()), best, saving_progress(logger, best),
                       *state.env);
    }
  } catch (const CheckpointError& e) {
    if (!options_.ignore_errors()) throw;
    warn_best_not_kept(*state.env, state.timestamp.batch(), e.what());
  }
}

c10::IValue CheckpointSaver::state_dict() const {
  if (!best_monitor_) return c10::IValue();
  auto dict = new_tree_dict();
  dict.insert("best_value", best_value_ ? c10::IValue(*best_value_) : c10::IValue());
  dict.insert("best_batch", best_batch_);
  dict.insert("best_checkpoint", best_path_);
  return dict;
}

void CheckpointSaver::load_state_dict(const c10::IValue& state) {
  if (!best_monitor_) return;
  const std::string path = "state/callbacks/" + name();
  auto dict = tree_dict(state, path);
  if (tree_has(dict, "all_saved_checkpoints_to_timestamp") && !tree_has(dict, "best_batch")) return;  // Composer's
  std::optional<double> value;
  if (!tree_at(dict, "best_value", path).isNone()) value = tree_double(dict, "best_value", path);
  const auto batch = tree_int(dict, "best_batch", path);
  best_path_ = tree_string(dict, "best_checkpoint", path);  // the last read that can throw
  best_value_ = value;
  best_batch_ = batch;
  best_pending_ = false;
}

void CheckpointSaver::on_fit_end(State& state, Logger& logger) {
  finish_background(/*block=*/true);  // fit() returns only once the last save is durable, or reported
  // A run that stops early (a stop request, or a signal the trainer turned into one) keeps the
  // batch it stopped at, whatever the interval: the only preemption save.
  if (state.stop_requested() && state.timestamp.batch() != last_saved_batch_ && state.timestamp.batch() > 0 &&
      !take_part(state, true, false, true)) {
    save(state, &logger);
    if (state.comm) state.comm->barrier(durable_barrier(state.timestamp.batch()));
  }
  fit_ended_ = true;
  // fit() returns only once every checkpoint is in the store, or failed with a clear error.
  report_upload_failures();
  const auto failures = finish_uploads();
  if (failures.empty()) return;
  const auto message = fmt::format("{} checkpoint upload(s) failed at the end of training (the local copies are kept): {}",
                                   failures.size(), fmt::join(failures, "; "));
  if (!options_.ignore_errors()) throw CheckpointError(message);
  env_->warn(message);
}

void CheckpointSaver::on_close(State&, Logger&) {
  // After a failed fit() a background save may still be running: nothing outlives fit().
  finish_background(/*block=*/true);
  if (uploader_) {
    for (const auto& failure : uploader_->finish()) env_->warn(failure);
    uploader_.reset();
  }
  lock_.release();
  claimed_ = false;
}

std::string CheckpointSaver::checkpoint_of_batch(int64_t batch) const {
  if (background_ || batch != last_saved_batch_) return "";
  return last_saved_path_;
}

std::pair<std::string, std::string> CheckpointSaver::checked_names(const State& state) const {
  // Mistakes in the names are refused whatever ignore_errors says: they are not faults of the disk.
  const auto path = folder_.checkpoint_path(state);
  const auto link = folder_.latest_path(state);
  std::error_code error;
  if (!options_.overwrite() && fs::exists(path, error)) {
    // A damaged file of the same name (autoresume skipped it) is replaced: it holds nothing to keep.
    bool damaged = false;
    try {
      read_checkpoint(path);
    } catch (const CheckpointError& e) {
      damaged = true;
      state.env->warn(fmt::format("replacing damaged checkpoint '{}': {}", path, e.what()));
    }
    if (!damaged) {
      throw CheckpointError(fmt::format("checkpoint '{}' already exists and save_overwrite is off", path));
    }
  }
  return {path, link};
}

std::string CheckpointSaver::save(const State& state, Logger* logger) {
  env_ = state.env;
  finish_background(/*block=*/true);
  const auto [path, link] = checked_names(state);
  bool written = false;
  try {
    make_parent(path, *state.env);
    // On any failure the temporary is removed; nothing else has changed yet.
    write_checkpoint(make_checkpoint_tree(state, options_.weights_only()), path, saving_progress(logger, path),
                     *state.env);
    written = true;
    saved_.erase(std::remove(saved_.begin(), saved_.end(), path), saved_.end());
    saved_.push_back(path);
    last_saved_batch_ = state.timestamp.batch();
    last_saved_path_ = path;
    if (!link.empty()) CheckpointFolder::point_latest(path, link, *state.env);
    if (uploader_) uploader_->enqueue(path, link);
  } catch (const CheckpointError& e) {
    // Rotation has not run: every older checkpoint is still there, and latest still names one.
    if (!options_.ignore_errors()) throw;
    warn_not_saved(*state.env, state.timestamp.batch(), written, e.what());
    return written ? path : std::string();
  }
  rotate(path);
  return path;
}

std::string CheckpointSaver::start_save(const State& state) {
  start_background(state, /*save=*/true, /*best=*/false);
  return background_->path;
}

void CheckpointSaver::wait() { finish_background(/*block=*/true); }

void CheckpointSaver::start_background(const State& state, bool save, bool best, State* overlap) {
  // One save at a time, and the staging memory the previous one wrote from is free again.
  env_ = state.env;
  finish_background(/*block=*/true);
  auto job = std::make_unique<BackgroundSave>();
  job->env = state.env;
  job->batch = state.timestamp.batch();
  job->ignore_errors = options_.ignore_errors();
  job->uploader = uploader_.get();
  if (save) std::tie(job->path, job->link) = checked_names(state);
  // Taken before any bookkeeping changes, so that a failure here leaves the saver as it was.
  const auto tree = make_checkpoint_tree(state, options_.weights_only());
  job->tree = overlap ? snapshot_.take(tree, step_only_storages(state, tree)) : snapshot_.take(tree);
  if (overlap && snapshot_.deferred_bytes() > 0) job->copy_later = &snapshot_;
  if (save) {
    // Rotation as save() does it, decided now: saved_ changes only when no save is in flight.
    job->saved_after = saved_;
    job->saved_after.erase(std::remove(job->saved_after.begin(), job->saved_after.end(), job->path),
                           job->saved_after.end());
    job->saved_after.push_back(job->path);
    job->drop = drop_oldest(job->saved_after, job->path, options_.num_checkpoints_to_keep());
    // The batch counts as saved now, so that no later event of it saves it again.
    job->last_saved_before = last_saved_batch_;
    last_saved_batch_ = job->batch;
  }
  if (best) {
    best_pending_ = false;
    job->best = best_path_;
  }
  BackgroundSave* writer = job.get();
  std::shared_future<void> copied = job->copied.get_future().share();
  try {
    job->thread = std::thread([writer] { writer->run(); });
  } catch (...) {  // no thread to be had: nothing was saved
    if (save) last_saved_batch_ = job->last_saved_before;
    best_pending_ = best_pending_ || best;
    throw;
  }
  if (job->copy_later != nullptr) overlap->checkpoint_copy.add(std::move(copied));
  background_ = std::move(job);
}

void CheckpointSaver::finish_background(bool block) {
  if (!background_ || (!block && !background_->done.load(std::memory_order_acquire))) return;
  background_->thread.join();
  const std::unique_ptr<BackgroundSave> job = std::move(background_);
  if (job->written) last_saved_path_ = job->path;
  if (job->written) {
    if (job->linked) {
      saved_ = job->saved_after;  // its files are deleted already
    } else {
      saved_.erase(std::remove(saved_.begin(), saved_.end(), job->path), saved_.end());
      saved_.push_back(job->path);
    }
  } else if (!job->path.empty() && last_saved_batch_ == job->batch) {
    last_saved_batch_ = job->last_saved_before;  // as after a failed synchronous save
  }
  if (job->save_error) {
    try {
      std::rethrow_exception(job->save_error);
    } catch (const CheckpointError& e) {
      if (!options_.ignore_errors()) throw;
      warn_not_saved(*job->env, job->batch, job->written, e.what());
    }
  }
  if (job->best_error) {
    try {
      std::rethrow_exception(job->best_error);
    } catch (const CheckpointError& e) {
      if (!options_.ignore_errors()) throw;
      warn_best_not_kept(*job->env, job->batch, e.what());
    }
  }
}

void CheckpointSaver::rotate(const std::string& newest) {
  for (const auto& oldest : drop_oldest(saved_, newest, options_.num_checkpoints_to_keep())) {
    if (uploader_) {
      uploader_->enqueue_local_removal(oldest);  // once the store holds it
    } else {
      env_->unlink(oldest.c_str());  // already gone is fine: the goal is that it is not there
    }
  }
}

}  // namespace tempo
