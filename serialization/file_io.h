// The one seam between checkpoint writes and the operating system (LevelDB's Env idea, cut down
// to the calls a durable write makes), so tests can make a write, fsync or rename fail at a
// chosen point with a chosen errno — EIO from a dying disk, ENOSPC — where a real file system
// would need root or luck. AtomicFile (and through it every checkpoint and safetensors writer)
// calls the installed FileIo; the default forwards to POSIX. Each call returns what POSIX returns
// and sets errno the same way.
//
// Installing another FileIo is for tests: ScopedFileIo swaps it in for one scope and puts the
// previous one back; it is process-wide, so install it only while no other thread is saving. The
// swap itself is atomic, but with save_async the calls come from the saver's writer thread: an
// installed FileIo must be callable from there and outlive every save in flight (wait() first).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace tempo {

class FileIo {
 public:
  virtual ~FileIo() = default;
  virtual ssize_t write(int fd, const void* data, size_t size);
  virtual int fsync(int fd);
  virtual int rename(const char* from, const char* to);
};

// The FileIo in use.
FileIo& file_io();

class ScopedFileIo {
 public:
  explicit ScopedFileIo(FileIo& io);
  ~ScopedFileIo();
  ScopedFileIo(const ScopedFileIo&) = delete;
  ScopedFileIo& operator=(const ScopedFileIo&) = delete;

 private:
  FileIo* previous_;
};

}  // namespace tempo
