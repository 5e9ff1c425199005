// CheckpointSaver::BackgroundSave: one save_async write, run on its own thread (private to the
// saver; callbacks/checkpoint_saver.cpp says how background saves work).
#pragma once

#include <atomic>
#include <exception>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/checkpoint_uploader.h"

namespace tempo {

// Creates the folder `path` goes into; throws CheckpointError naming it.
void make_parent(const std::string& path, Env& env);

// One background save: everything the writer thread needs is copied in here before it starts, and
// the training thread reads the outcome only after joining it, so the two share nothing else.
struct CheckpointSaver::BackgroundSave {
  c10::IValue tree;   // the snapshot: staging memory, not the live state
  Env* env = nullptr;  // the run's, for every file call
  // The saver's snapshot, when take() left the parameters and optimizer state to copy here; the
  // training thread waits on `copied` (through State::checkpoint_copy) before its next step.
  CheckpointSnapshot* copy_later = nullptr;
  std::promise<void> copied;
  int64_t batch = 0;
  std::string path;   // the checkpoint; empty: only the best checkpoint is written
  std::string link;   // the latest link; empty: none
  std::vector<std::string> saved_after;  // the saver's list once the save and its rotation are done
  std::vector<std::string> drop;         // what that rotation deletes
  std::string best;                      // the best checkpoint to make; empty: none
  CheckpointUploader* uploader = nullptr;  // the saver's, with a remote save_folder
  int64_t last_saved_before = -1;
  bool ignore_errors = false;

  bool written = false;
  bool linked = false;
  std::exception_ptr save_error;
  bool save_error_ignorable = false;  // a CheckpointError, which ignore_errors turns into a warning
  std::exception_ptr best_error;
  std::atomic<bool> done{false};
  std::thread thread;

  // The deferred copy, then the steps of a synchronous save and keep_best, in their order, with
  // their error handling; then the upload (with a store), which happens on the uploader's thread.
  void run() noexcept;
};

}  // namespace tempo
