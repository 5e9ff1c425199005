// An Env (serialization/env.h) that fails one kind of call with a chosen errno, after a number of
// calls or bytes: a disk that dies mid-write (EIO), fills up (ENOSPC), or loses an fsync. Every
// other call goes to the process's own Env. Pass it to one run (TrainerOptions::env) or one write.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>

#include "tempo/serialization/env.h"

namespace tempo::testing {

class FaultyIo : public EnvWrapper {
 public:
  enum class Call { write, fsync, rename };

  // Fails `call` with `err` once `skip` calls of it have succeeded (for writes: once `skip`
  // bytes have been written, with a short write first if the boundary falls inside a call).
  // With `once`, only the first failure happens; later calls succeed.
  FaultyIo(Call call, int err, size_t skip = 0, bool once = false)
      : EnvWrapper(Env::posix()), call_(call), err_(err), skip_(skip), once_(once) {}

  ssize_t write(int fd, const void* data, size_t size) override {
    if (call_ == Call::write && armed()) {
      if (written_ >= skip_) return fail();
      size = std::min(size, skip_ - written_);
    }
    const ssize_t n = EnvWrapper::write(fd, data, size);
    if (n > 0) written_ += static_cast<size_t>(n);
    return n;
  }
  int fsync(int fd) override {
    if (call_ == Call::fsync && armed() && calls_++ >= skip_) return fail();
    return EnvWrapper::fsync(fd);
  }
  int rename(const char* from, const char* to) override {
    if (call_ == Call::rename && armed() && calls_++ >= skip_) return fail();
    return EnvWrapper::rename(from, to);
  }

  int failures() const { return failures_; }

 private:
  bool armed() const { return !(once_ && failures_ > 0); }
  int fail() {
    ++failures_;
    errno = err_;
    return -1;
  }

  Call call_;
  int err_;
  size_t skip_;
  bool once_;
  size_t written_ = 0;
  size_t calls_ = 0;
  int failures_ = 0;
};

}  // namespace tempo::testing
