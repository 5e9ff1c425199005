// How the uploader works (the contract is in the header). One thread takes tasks off a queue in
// order, so a checkpoint's upload, its remote latest and the rotation after it happen in the
// order of the saves, and a local removal queued after an upload runs after it. Errors never
// leave the thread as exceptions: they become one-line failures the saver reports.
#include "tempo/callbacks/checkpoint_uploader.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tempo/errors/error.h"

namespace tempo {
namespace fs = std::filesystem;

CheckpointUploader::CheckpointUploader(std::unique_ptr<ObjectStore> store, int64_t remote_keep, bool remove_uploaded,
                                       Env& env)
    : store_(std::move(store)), remote_keep_(remote_keep), remove_uploaded_(remove_uploaded), env_(env) {
  thread_ = std::thread([this] { run(); });
}

CheckpointUploader::~CheckpointUploader() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (const auto& failure : failures_) env_.warn(failure);
}

std::string CheckpointUploader::key_of(const std::string& local_path) {
  return fs::path(local_path).lexically_normal().generic_string();
}

void CheckpointUploader::adopt(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& key : keys) {
    if (std::find(uploaded_.begin(), uploaded_.end(), key) == uploaded_.end()) uploaded_.push_back(key);
  }
}

void CheckpointUploader::enqueue(const std::string& path, const std::string& latest_link) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // What failed before goes first: the next save tries it again, oldest first.
    for (auto& task : failed_) queue_.push_back(std::move(task));
    failed_.clear();
    queue_.push_back({Task::Kind::upload, path, latest_link});
  }
  wake_.notify_all();
}

void CheckpointUploader::enqueue_local_removal(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back({Task::Kind::remove_local, path, ""});
  }
  wake_.notify_all();
}

std::vector<std::string> CheckpointUploader::take_failures() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(failures_, {});
}

std::vector<std::string> CheckpointUploader::finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  if (!failed_.empty()) {
    failures_.clear();  // reported already as warnings; only what fails again is returned
    for (auto& task : failed_) queue_.push_back(std::move(task));
    failed_.clear();
    wake_.notify_all();
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  }
  return std::exchange(failures_, {});
}

std::vector<std::string> CheckpointUploader::uploaded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return uploaded_;
}

void CheckpointUploader::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    Task task = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    if (task.kind == Task::Kind::upload) {
      upload(task);
    } else {
      remove_local(task.path);
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

void CheckpointUploader::fail(std::string message) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.push_back(std::move(message));
}

void CheckpointUploader::upload(const Task& task) {
  const auto key = key_of(task.path);
  try {
    store_->upload(task.path, key);
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      failed_.push_back(task);
    }
    fail(fmt::format("checkpoint '{}' was not uploaded to {} (the local copy is kept; the next save tries again): {}",
                     task.path, store_->uri(key), e.what()));
    return;
  }
  std::vector<std::string> drop;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    uploaded_.erase(std::remove(uploaded_.begin(), uploaded_.end(), key), uploaded_.end());
    uploaded_.push_back(key);
  }
  if (!task.latest_link.empty()) {
    const auto latest = key_of(task.latest_link) + ".symlink";
    try {
      store_->put(latest, key);
      std::lock_guard<std::mutex> lock(mutex_);
      latest_key_ = key;
    } catch (const std::exception& e) {
      fail(fmt::format("{} was not pointed at the uploaded checkpoint {}: {}", store_->uri(latest), store_->uri(key),
                       e.what()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (remote_keep_ >= 0) {
      const auto keep = static_cast<size_t>(std::max<int64_t>(remote_keep_, 1));
      while (uploaded_.size() > keep) {
        auto oldest = uploaded_.front();
        uploaded_.erase(uploaded_.begin());
        if (oldest != key && oldest != latest_key_) drop.push_back(std::move(oldest));
      }
    }
  }
  for (const auto& old : drop) {
    try {
      store_->remove(old);
    } catch (const std::exception& e) {
      fail(fmt::format("remote rotation could not delete {}: {}", store_->uri(old), e.what()));
    }
  }
  if (remove_uploaded_) remove_local(task.path);
}

void CheckpointUploader::remove_local(const std::string& path) {
  struct stat local {};
  if (::stat(path.c_str(), &local) != 0) return;  // gone already
  const auto key = key_of(path);
  try {
    const auto remote = store_->stat(key);
    if (!remote || remote->size != static_cast<uint64_t>(local.st_size)) {
      env_.warn(fmt::format("keeping checkpoint '{}' on local disk: {} {}", path, store_->uri(key),
                            remote ? "differs in size" : "does not hold it yet"));
      return;
    }
  } catch (const std::exception& e) {
    env_.warn(fmt::format("keeping checkpoint '{}' on local disk: cannot check {}: {}", path, store_->uri(key), e.what()));
    return;
  }
  if (env_.unlink(path.c_str()) != 0 && errno != ENOENT) {
    env_.warn(fmt::format("cannot remove the uploaded local checkpoint '{}': {}", path, std::strerror(errno)));
  }
}

}  // namespace tempo
