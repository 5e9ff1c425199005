#include "tempo/util/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tempo {

std::string FolderLock::acquire(const std::string& folder, const std::string& file_name) {
  release();
  const std::string path = folder + "/" + file_name;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return "cannot be locked: cannot open '" + path + "': " + std::strerror(errno);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return "cannot be locked: " + std::string(std::strerror(err));
    }
    // The holder wrote its pid after taking the lock; a holder between the two shows no pid.
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    ::close(fd);
    std::string pid(buffer, n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    const bool numeric = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
    return numeric ? "is in use by process " + pid : std::string("is in use by another process");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds without the pid; a second claimant is told "another process".
  }
  fd_ = fd;
  path_ = path;
  return "";
}

void FolderLock::release() {
  if (fd_ < 0) return;
  ::close(fd_);  // drops the flock
  fd_ = -1;
  path_.clear();
}

}  // namespace tempo
