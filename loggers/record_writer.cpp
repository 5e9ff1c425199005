#include "tempo/loggers/record_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "tempo/errors/error.h"

namespace tempo {

RecordWriter::~RecordWriter() { close(); }

void RecordWriter::open(const std::string& path, bool truncate, Env& env) {
  close();
  env_ = &env;
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  env.create_directories(parent.string(), error);
  if (error) {
    throw ConfigError(fmt::format("{}: cannot create the folder '{}': {}", what_, parent.string(), error.message()));
  }
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  const int fd = env_->open(path.c_str(), flags, 0644);
  if (fd < 0) throw ConfigError(fmt::format("{}: cannot open '{}': {}", what_, path, std::strerror(errno)));
  fd_ = fd;
  path_ = path;
  failed_ = false;
}

void RecordWriter::warn(const std::string& what, int error) {
  if (failed_) return;
  failed_ = true;
  env_->warn(fmt::format("{}: {} '{}' failed: {}; its further records are dropped", what_, what, path_,
                         std::strerror(error)));
}

void RecordWriter::flush(bool sync) {
  if (fd_ < 0) return;
  for (const auto& record : pending_) {
    if (failed_) break;
    // One write(2) per record; the loop only continues after an interrupted or short write
    // (which a regular file sees only when the disk fills).
    size_t done = 0;
    while (done < record.size()) {
      const ssize_t n = env_->write(fd_, record.data() + done, record.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        warn("writing", n < 0 ? errno : ENOSPC);
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  pending_.clear();
  if (sync && !failed_ && env_->fsync(fd_) != 0) warn("syncing", errno);
}

void RecordWriter::close() {
  if (fd_ < 0) return;
  flush(/*sync=*/true);
  env_->close(fd_);
  fd_ = -1;
}

}  // namespace tempo
