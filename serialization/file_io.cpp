#include "serialization/file_io.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace tempo {
namespace {

FileIo& posix_io() {
  static FileIo io;
  return io;
}

std::atomic<FileIo*>& installed() {
  static std::atomic<FileIo*> io{&posix_io()};
  return io;
}

}  // namespace

ssize_t FileIo::write(int fd, const void* data, size_t size) { return ::write(fd, data, size); }
int FileIo::fsync(int fd) { return ::fsync(fd); }
int FileIo::rename(const char* from, const char* to) { return std::rename(from, to); }

FileIo& file_io() { return *installed().load(); }

ScopedFileIo::ScopedFileIo(FileIo& io) : previous_(installed().exchange(&io)) {}
ScopedFileIo::~ScopedFileIo() { installed().store(previous_); }

}  // namespace tempo
