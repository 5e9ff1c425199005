#include "tempo/util/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tempo {

namespace {

std::string not_regular(mode_t mode) {
  if (S_ISDIR(mode)) return "is a folder, not a file";
  if (S_ISFIFO(mode)) return "is a FIFO, not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

}  // namespace

int open_regular_file(const std::string& path, std::string& why, uint64_t* size) {
  // O_NONBLOCK: opening a FIFO with no writer must not wait for one; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    why = err == ENOENT ? std::string("does not exist") : "cannot be opened: " + std::string(std::strerror(err));
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = "cannot be opened: " + std::string(std::strerror(errno));
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    why = not_regular(st.st_mode);
    ::close(fd);
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

bool read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what, std::string& contents,
                       std::string& why) {
  uint64_t size = 0;
  const int fd = open_regular_file(path, why, &size);
  if (fd < 0) return false;
  if (size > max_bytes) {
    why = "is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) + " bytes " + what +
          " may be";
    ::close(fd);
    return false;
  }
  contents.clear();
  // Read to the end rather than to the size fstat gave: the file may grow or shrink meanwhile; the
  // cap still holds.
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      why = "cannot be read: " + std::string(std::strerror(errno));
      ::close(fd);
      return false;
    }
    if (contents.size() + static_cast<size_t>(n) > max_bytes) {
      why = "grew past the " + std::to_string(max_bytes) + " bytes " + what + " may be while being read";
      ::close(fd);
      return false;
    }
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace tempo
