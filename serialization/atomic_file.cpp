#include "tempo/serialization/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

std::string os_error(int err) { return std::strerror(err); }

constexpr char kTemporaryPrefix[] = ".tmp.";

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A name no other writer in this or another process picks: pid plus a per-process counter.
std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned long> counter{0};
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  return folder + kTemporaryPrefix + base_name(path) + "." + std::to_string(::getpid()) + "." +
         std::to_string(counter++);
}

// fsync of the folder makes a rename in it durable; without it a crash may forget the rename.
void sync_folder(const std::string& path, Env& env) {
  const std::string folder = parent_folder(path);
  const int fd = env.open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    throw CheckpointError("cannot open folder '" + folder + "' to sync '" + path + "': " + os_error(errno));
  const int rc = env.fsync(fd);
  const int err = errno;
  env.close(fd);
  // Some file systems do not support fsync on folders (EINVAL); the rename is then as durable as
  // that file system allows, which is not an error of ours.
  if (rc != 0 && err != EINVAL)
    throw CheckpointError("cannot sync folder of '" + path + "': " + os_error(err));
}

}  // namespace

bool is_temporary_name(const std::string& filename) { return filename.rfind(kTemporaryPrefix, 0) == 0; }

std::optional<int64_t> temporary_name_writer(const std::string& filename) {
  const std::string prefix = kTemporaryPrefix;
  if (!is_temporary_name(filename)) return std::nullopt;
  const auto last = filename.rfind('.');
  if (last == std::string::npos || last <= prefix.size() || !all_digits(filename.substr(last + 1))) return std::nullopt;
  const auto before = filename.rfind('.', last - 1);
  if (before == std::string::npos || before < prefix.size()) return std::nullopt;
  const auto pid_text = filename.substr(before + 1, last - before - 1);
  if (!all_digits(pid_text) || pid_text.size() > 10) return std::nullopt;
  const long long pid = std::stoll(pid_text);
  if (pid <= 0 || pid > INT_MAX) return std::nullopt;
  return static_cast<int64_t>(pid);
}

std::string parent_folder(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

AtomicFile::AtomicFile(std::string path, Env& env, std::string what)
    : env_(env), what_(std::move(what)), path_(std::move(path)), temp_path_(temp_name_for(path_)) {
  if (path_.empty() || path_.back() == '/')
    throw CheckpointError("cannot write " + what_ + " '" + path_ + "': not a file name");
  // rename() would refuse to replace a folder only after the whole file was written.
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw CheckpointError("cannot write " + what_ + " '" + path_ + "': it is a folder");
  fd_ = env_.open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw CheckpointError("cannot write " + what_ + " '" + path_ + "': " + os_error(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) env_.close(fd_);
  if (!committed_) env_.unlink(temp_path_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  if (fd_ >= 0) env_.close(fd_);
  fd_ = -1;
  env_.unlink(temp_path_.c_str());
  throw CheckpointError("cannot write " + what_ + " '" + path_ + "': " + what + ": " + os_error(err));
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0 || committed_)
    throw CheckpointError("cannot write " + what_ + " '" + path_ + "': file already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = env_.write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0 || committed_)
    throw CheckpointError("cannot write " + what_ + " '" + path_ + "': file already closed");
  if (env_.fsync(fd_) != 0) fail("fsync failed", errno);
  const int rc = env_.close(fd_);
  fd_ = -1;
  if (rc != 0) fail("close failed", errno);
  // rename() replaces a file atomically but refuses to replace a folder with a file (EISDIR).
  if (env_.rename(temp_path_.c_str(), path_.c_str()) != 0) fail("rename failed", errno);
  committed_ = true;
  sync_folder(path_, env_);
}

void atomic_symlink(const std::string& target, const std::string& link_path, Env& env) {
  const std::string temp = temp_name_for(link_path);
  if (env.symlink(target.c_str(), temp.c_str()) != 0)
    throw CheckpointError("cannot create link '" + link_path + "' -> '" + target + "': " + os_error(errno));
  if (env.rename(temp.c_str(), link_path.c_str()) != 0) {
    const int err = errno;
    env.unlink(temp.c_str());
    throw CheckpointError("cannot create link '" + link_path + "' -> '" + target + "': " + os_error(err));
  }
  sync_folder(link_path, env);
}

void atomic_hard_link(const std::string& existing, const std::string& link_path, Env& env) {
  const std::string temp = temp_name_for(link_path);
  if (env.link(existing.c_str(), temp.c_str()) != 0) {
    const int err = errno;
    if (err != EXDEV && err != EPERM && err != EMLINK && err != ENOTSUP) {
      throw CheckpointError("cannot link '" + link_path + "' to '" + existing + "': " + os_error(err));
    }
    // No hard links here: a durable copy under the temporary name instead.
    std::error_code error;
    env.copy_file(existing, temp, error);
    if (error) {
      env.unlink(temp.c_str());
      throw CheckpointError("cannot copy '" + existing + "' to '" + link_path + "': " + error.message());
    }
    const int fd = env.open(temp.c_str(), O_RDONLY | O_CLOEXEC, 0);
    const int rc = fd < 0 ? -1 : env.fsync(fd);
    const int sync_err = errno;
    if (fd >= 0) env.close(fd);
    if (rc != 0) {
      env.unlink(temp.c_str());
      throw CheckpointError("cannot sync the copy of '" + existing + "' for '" + link_path + "': " + os_error(sync_err));
    }
  }
  if (env.rename(temp.c_str(), link_path.c_str()) != 0) {
    const int err = errno;
    env.unlink(temp.c_str());
    throw CheckpointError("cannot link '" + link_path + "' to '" + existing + "': " + os_error(err));
  }
  sync_folder(link_path, env);
}

}  // namespace tempo
