#include "tempo/storage/local_object_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"

namespace tempo {
namespace fs = std::filesystem;

LocalObjectStore::LocalObjectStore(std::string root, Env* env)
    : root_(std::move(root)), env_(env ? env : &Env::posix()) {
  if (root_.empty() || root_.front() != '/') {
    throw ConfigError(fmt::format("a local object store needs an absolute folder, got '{}'", root_));
  }
}

std::string LocalObjectStore::uri(const std::string& key) const {
  return "file://" + (fs::path(root_) / key).lexically_normal().string();
}

std::string LocalObjectStore::path_of(const std::string& key) const {
  if (key.empty() || key.front() == '/') throw StorageError(fmt::format("'{}' is not a key of {}", key, uri("")));
  return (fs::path(root_) / key).lexically_normal().string();
}

void LocalObjectStore::copy(const std::string& from, const std::string& to, const std::string& what,
                            const TransferProgressFn& progress) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    const int err = errno;
    if (err == ENOENT) throw ObjectNotFoundError(fmt::format("{}: '{}' does not exist", what, from));
    throw StorageError(fmt::format("{}: cannot open '{}': {}", what, from, std::strerror(err)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  const auto total = static_cast<uint64_t>(::lseek(in, 0, SEEK_END));
  ::lseek(in, 0, SEEK_SET);
  std::error_code error;
  env_->create_directories(fs::path(to).parent_path().string(), error);
  if (error) {
    throw StorageError(fmt::format("{}: cannot create the folder of '{}': {}", what, to, error.message()));
  }
  try {
    AtomicFile out(to, *env_, "object");
    std::vector<char> buffer(8 << 20);
    uint64_t done = 0;
    for (;;) {
      const ssize_t n = ::read(in, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw StorageError(fmt::format("{}: cannot read '{}': {}", what, from, std::strerror(errno)));
      if (n == 0) break;
      out.write(buffer.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
      if (progress) progress(done, total);
    }
    if (done != total) {
      throw StorageError(fmt::format("{}: '{}' changed size while it was copied ({} bytes, then {})", what, from,
                                     total, done));
    }
    out.commit();
    if (progress && total == 0) progress(0, 0);
  } catch (const CheckpointError& e) {
    throw StorageError(fmt::format("{}: {}", what, e.what()));
  }
}

void LocalObjectStore::upload(const std::string& local_path, const std::string& key, const TransferProgressFn& progress) {
  copy(local_path, path_of(key), fmt::format("uploading '{}' to {}", local_path, uri(key)), progress);
}

void LocalObjectStore::download(const std::string& key, const std::string& local_path,
                                const TransferProgressFn& progress) {
  copy(path_of(key), local_path, fmt::format("downloading {} to '{}'", uri(key), local_path), progress);
}

void LocalObjectStore::put(const std::string& key, const std::string& bytes) {
  const auto path = path_of(key);
  std::error_code error;
  env_->create_directories(fs::path(path).parent_path().string(), error);
  try {
    AtomicFile out(path, *env_, "object");
    out.write(bytes.data(), bytes.size());
    out.commit();
  } catch (const CheckpointError& e) {
    throw StorageError(fmt::format("writing {}: {}", uri(key), e.what()));
  }
}

std::string LocalObjectStore::get(const std::string& key) {
  const auto path = path_of(key);
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) {
    if (error == std::errc::no_such_file_or_directory) throw ObjectNotFoundError(uri(key) + " does not exist");
    throw StorageError(fmt::format("reading {}: {}", uri(key), error.message()));
  }
  std::string bytes(size, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StorageError(fmt::format("reading {}: {}", uri(key), std::strerror(errno)));
  const ssize_t n = ::pread(fd, bytes.data(), size, 0);
  ::close(fd);
  if (n < 0 || static_cast<size_t>(n) != size) throw StorageError(fmt::format("reading {}: short read", uri(key)));
  return bytes;
}

std::vector<ObjectInfo> LocalObjectStore::list(const std::string& prefix) {
  std::vector<ObjectInfo> found;
  std::error_code error;
  // The folder part of the prefix bounds the walk; the rest filters names.
  const auto slash = prefix.rfind('/');
  const fs::path start = fs::path(root_) / (slash == std::string::npos ? "" : prefix.substr(0, slash));
  if (!fs::is_directory(start, error)) return found;
  for (fs::recursive_directory_iterator it(start, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_regular_file(error) || is_temporary_name(it->path().filename().string())) continue;
    const auto key = it->path().lexically_relative(root_).generic_string();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    ObjectInfo info;
    info.key = key;
    info.size = it->file_size(error);
    const auto time = it->last_write_time(error);
    // file_clock::to_sys is C++20: carry the offset from now across instead.
    const auto system = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                               time - fs::file_time_type::clock::now());
    info.last_modified = std::chrono::duration_cast<std::chrono::seconds>(system.time_since_epoch()).count();
    found.push_back(std::move(info));
  }
  if (error) throw StorageError(fmt::format("listing {}: {}", uri(prefix), error.message()));
  std::sort(found.begin(), found.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return found;
}

std::optional<ObjectInfo> LocalObjectStore::stat(const std::string& key) {
  const auto path = path_of(key);
  std::error_code error;
  const auto status = fs::status(path, error);
  if (error || !fs::is_regular_file(status)) return std::nullopt;
  ObjectInfo info;
  info.key = key;
  info.size = fs::file_size(path, error);
  return info;
}

void LocalObjectStore::remove(const std::string& key) {
  const auto path = path_of(key);
  if (env_->unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw StorageError(fmt::format("deleting {}: {}", uri(key), std::strerror(errno)));
  }
}

}  // namespace tempo
