// RemoteUploaderDownloader: Composer's logger destination of that name, for the files of a run
// other than checkpoints (a URI save_folder uploads those itself: callbacks/checkpoint_uploader.h).
// Whatever is handed to Logger::upload_file (the file logger's JSON lines and the TensorBoard
// event file after each of their flushes, the resolved config.yaml from `tempo train`) is copied
// at once to a staging folder, so the file may go on changing, and uploaded on a background thread
// as `file_path_format_string` names it: "{remote_file_name}" (Composer's default) is the name the
// caller gave, a relative path; {run_name} is the run's name. A file handed over again before its
// previous copy went up replaces that copy. FIT_END waits for every upload and reports failures as
// warnings (training is over; the files stay on local disk); on_close does the same after a failure.
// Throws ConfigError from the constructor for a bucket_uri that is not a store tempo knows or a
// format with other variables; StorageError at INIT when the store cannot be used (credentials).
#pragma once

#include <torch/arg.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tempo/callbacks/logger.h"
#include "tempo/storage/object_store.h"

namespace tempo {

struct RemoteUploaderDownloaderOptions {
  // s3://bucket or s3://bucket/prefix (keys go below the prefix), file:///folder.
  TORCH_ARG(std::string, bucket_uri) = "";
  TORCH_ARG(std::string, file_path_format_string) = "{remote_file_name}";
  TORCH_ARG(ObjectStoreOptions, object_store) = {};
};

class RemoteUploaderDownloader : public LoggerDestination {
 public:
  explicit RemoteUploaderDownloader(RemoteUploaderDownloaderOptions options);
  ~RemoteUploaderDownloader() override;

  void log_metrics(const Metrics&, int64_t) override {}
  void log_hyperparameters(const Hyperparameters&) override {}
  void upload_file(const std::string& remote_file_name, const std::string& file_path) override;

  // The key `remote_file_name` is stored under.
  std::string key_of(const std::string& remote_file_name) const;
  // Blocks until every file handed over is uploaded or failed; returns the failures since the
  // last call, one line each.
  std::vector<std::string> wait();

 protected:
  void on_init(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;
  void on_close(State& state, Logger& logger) override;

 private:
  struct Job {
    std::string key;
    std::string staged;  // the copy to upload
  };
  void run();

  RemoteUploaderDownloaderOptions options_;
  ObjectUri bucket_;
  std::string run_name_;
  Env* env_ = &Env::posix();
  std::unique_ptr<ObjectStore> store_;
  std::string staging_;  // a temporary folder, made at the first upload_file
  int64_t staged_count_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Job> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::vector<std::string> failures_;
  std::thread thread_;
};

}  // namespace tempo
