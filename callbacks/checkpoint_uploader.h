// CheckpointUploader: the remote half of a CheckpointSaver whose save_folder is a URI
// (s3://bucket/prefix, file:///folder): Composer's RemoteUploaderDownloader for checkpoints.
// The saver writes each checkpoint locally first, exactly as without a store (atomic, with its
// integrity manifest); this class then uploads it on its own thread, in the order of the saves:
//   1. the object `key_of(path)` (the local path below the working folder, which is the URI's
//      path part: Composer's rule), verified by the store (size, ETag/MD5);
//   2. only then Composer's remote "latest": the object `key_of(latest link) + ".symlink"`, whose
//      body is the checkpoint's key;
//   3. remote rotation (remote_num_checkpoints_to_keep, -1: keep all; never the one `latest`
//      names), then the local copy's removal when asked (save_num_checkpoints_to_keep 0).
// A failed upload (after the store's retries) keeps the local file, is reported once by
// take_failures() and is tried again before the next upload; finish() tries what still failed
// once more and returns what could not be uploaded.
// Invariants: the remote `latest` only ever names an uploaded, verified checkpoint; no local
// checkpoint is removed unless the store holds it (same key and size).
// Thread-safety: enqueue*, take_failures and finish may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tempo/serialization/env.h"
#include "tempo/storage/object_store.h"

namespace tempo {

class CheckpointUploader {
 public:
  // `remote_keep`: remote checkpoints kept (-1: all); `remove_uploaded`: remove each local copy
  // once uploaded. Starts the upload thread.
  CheckpointUploader(std::unique_ptr<ObjectStore> store, int64_t remote_keep, bool remove_uploaded, Env& env);
  // Finishes what is queued (uploads in flight are not cut off), reporting failures as warnings.
  ~CheckpointUploader();
  CheckpointUploader(const CheckpointUploader&) = delete;
  CheckpointUploader& operator=(const CheckpointUploader&) = delete;

  // The key a local path is uploaded to: the path, lexically normal, '/'-separated.
  static std::string key_of(const std::string& local_path);

  // Remote checkpoints earlier runs left (keys, oldest first): remote rotation counts them.
  void adopt(const std::vector<std::string>& keys);
  // Uploads the durable checkpoint `path`, then points the remote latest of `latest_link` (a
  // local link path; "" for none) at it.
  void enqueue(const std::string& path, const std::string& latest_link);
  // Removes the local file `path` (local rotation) once the store holds it; a file whose upload
  // failed is kept, with a warning.
  void enqueue_local_removal(const std::string& path);

  // The failures since the last call, one line each, without waiting.
  std::vector<std::string> take_failures();
  // Waits until everything queued is done, tries the failed uploads once more, and returns the
  // failures not yet taken (empty: every checkpoint is in the store).
  std::vector<std::string> finish();
  // Checkpoints uploaded and verified, oldest first (keys).
  std::vector<std::string> uploaded() const;
  ObjectStore& store() { return *store_; }

 private:
  struct Task {
    enum class Kind { upload, remove_local } kind;
    std::string path;
    std::string latest_link;
  };
  void run();
  void upload(const Task& task);
  void remove_local(const std::string& path);
  void fail(std::string message);

  std::unique_ptr<ObjectStore> store_;
  int64_t remote_keep_;
  bool remove_uploaded_;
  Env& env_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;   // a task was queued, or stopping
  std::condition_variable idle_;   // the queue ran empty
  std::deque<Task> queue_;
  bool busy_ = false;              // the thread is working on a task taken off the queue
  bool stopping_ = false;
  std::vector<Task> failed_;       // uploads to try again
  std::vector<std::string> failures_;
  std::vector<std::string> uploaded_;  // keys, oldest first (remote rotation)
  std::string latest_key_;          // the checkpoint the remote latest names
  std::thread thread_;
};

}  // namespace tempo
