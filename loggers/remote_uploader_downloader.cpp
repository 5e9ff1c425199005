#include "tempo/loggers/remote_uploader_downloader.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {
namespace fs = std::filesystem;

RemoteUploaderDownloader::RemoteUploaderDownloader(RemoteUploaderDownloaderOptions options)
    : options_(std::move(options)) {
  if (options_.bucket_uri().empty()) {
    throw ConfigError("remote_uploader_downloader.bucket_uri is empty: name the store, e.g. s3://my-bucket");
  }
  bucket_ = parse_object_uri(options_.bucket_uri(), "remote_uploader_downloader.bucket_uri");
  check_object_store_options(options_.object_store());
  // Only Composer's two variables: anything else in braces is a mistake worth hearing of now.
  auto rest = options_.file_path_format_string();
  for (const char* variable : {"{remote_file_name}", "{run_name}"}) {
    for (auto at = rest.find(variable); at != std::string::npos; at = rest.find(variable)) rest.erase(at, std::strlen(variable));
  }
  if (rest.find('{') != std::string::npos || rest.find('}') != std::string::npos ||
      options_.file_path_format_string().find("{remote_file_name}") == std::string::npos) {
    throw ConfigError(fmt::format("remote_uploader_downloader.file_path_format_string '{}': expected a name with "
                                  "{{remote_file_name}} and optionally {{run_name}}, nothing else in braces",
                                  options_.file_path_format_string()));
  }
  thread_ = std::thread([this] { run(); });
}

RemoteUploaderDownloader::~RemoteUploaderDownloader() {
  for (const auto& failure : wait()) env_->warn(failure);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (!staging_.empty()) {
    std::error_code ignored;
    fs::remove_all(staging_, ignored);
  }
}

void RemoteUploaderDownloader::on_init(State& state, Logger&) {
  env_ = state.env;
  run_name_ = state.run_name;
  auto options = options_.object_store();
  if (options.env() == nullptr) options.env(state.env);
  if (!store_) store_ = make_object_store(bucket_, options);  // missing credentials: before training
}

std::string RemoteUploaderDownloader::key_of(const std::string& remote_file_name) const {
  auto name = fs::path(remote_file_name).lexically_normal().generic_string();
  while (!name.empty() && name.front() == '/') name.erase(0, 1);
  auto key = options_.file_path_format_string();
  for (auto at = key.find("{run_name}"); at != std::string::npos; at = key.find("{run_name}")) {
    key.replace(at, 10, run_name_);
  }
  for (auto at = key.find("{remote_file_name}"); at != std::string::npos; at = key.find("{remote_file_name}")) {
    key.replace(at, 18, name);
  }
  const auto& prefix = bucket_.key;
  return prefix.empty() ? key : (fs::path(prefix) / key).lexically_normal().generic_string();
}

void RemoteUploaderDownloader::upload_file(const std::string& remote_file_name, const std::string& file_path) {
  if (!store_) return;  // before INIT: no run yet
  std::error_code error;
  if (staging_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp") + "/tempo-upload-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      env_->warn("remote_uploader_downloader: cannot make a staging folder; '" + file_path + "' is not uploaded");
      return;
    }
    staging_ = pattern;
  }
  // A copy as the file is now: the logger goes on appending to the original.
  const auto staged = (fs::path(staging_) / std::to_string(staged_count_++)).string();
  fs::copy_file(file_path, staged, fs::copy_options::overwrite_existing, error);
  if (error) {
    env_->warn(fmt::format("remote_uploader_downloader: cannot copy '{}' to upload it: {}", file_path, error.message()));
    return;
  }
  const auto key = key_of(remote_file_name);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The newer copy replaces one still waiting: only the last state of a file matters.
    const auto waiting = std::find_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.key == key; });
    if (waiting != queue_.end()) {
      fs::remove(waiting->staged, error);
      waiting->staged = staged;
    } else {
      queue_.push_back({key, staged});
    }
  }
  wake_.notify_all();
}

std::vector<std::string> RemoteUploaderDownloader::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
  return std::exchange(failures_, {});
}

void RemoteUploaderDownloader::on_fit_end(State&, Logger&) {
  for (const auto& failure : wait()) env_->warn(failure);
}

void RemoteUploaderDownloader::on_close(State&, Logger&) {
  for (const auto& failure : wait()) env_->warn(failure);
}

void RemoteUploaderDownloader::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    const Job job = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::string failure;
    try {
      store_->upload(job.staged, job.key);
    } catch (const std::exception& e) {
      failure = fmt::format("remote_uploader_downloader: {} was not uploaded: {}", store_->uri(job.key), e.what());
    }
    std::error_code ignored;
    fs::remove(job.staged, ignored);
    lock.lock();
    if (!failure.empty()) failures_.push_back(std::move(failure));
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace tempo
