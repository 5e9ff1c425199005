// Env: what checkpointing and logging ask of the operating system, passed in rather than global
// (LevelDB's Options::env and EnvWrapper). The run's Env comes from TrainerOptions::env and
// travels in State::env to every callback and logger destination; the checkpoint and safetensors
// writers, the atomic renames and links (and the copy where a file system has no hard links),
// rotation, the folders a save creates, folder listing, the loggers' record writer and the file
// logger's cut-back on resume all call it, and the library's warnings go through its warn().
// Reading a checkpoint does not: Env is the seam for what a run changes on disk. A test injects a full disk, an
// I/O error or a failing rename into one run, or collects its warnings, without touching the
// process or other threads.
//
// Contract: each file call returns what POSIX returns and sets errno the same way; the default,
// Env::posix(), forwards to POSIX and writes warnings to stderr as "tempo: warning: <message>".
// An Env is called from the training thread and from save_async's writer thread, so an
// implementation must be callable from both, and it must outlive every run and save that uses it
// (the library never owns one).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace tempo {

class Env {
 public:
  virtual ~Env() = default;

  // The process's POSIX environment (never destroyed).
  static Env& posix();

  virtual int open(const char* path, int flags, mode_t mode);
  virtual ssize_t write(int fd, const void* data, size_t size);
  virtual int fsync(int fd);
  virtual int close(int fd);
  virtual int rename(const char* from, const char* to);
  virtual int link(const char* existing, const char* new_path);
  virtual int symlink(const char* target, const char* link_path);
  virtual int unlink(const char* path);
  virtual int truncate(const char* path, off_t size);

  // Creates `path` and its missing parents (std::filesystem::create_directories); `error` is set
  // on failure and cleared otherwise.
  virtual void create_directories(const std::string& path, std::error_code& error);
  // A copy of the regular file `from` at the new path `to`, not yet fsynced (the caller decides);
  // `error` is set on failure and cleared otherwise.
  virtual void copy_file(const std::string& from, const std::string& to, std::error_code& error);
  // The target of the symlink `path` as written in it; "" with `error` set on failure.
  virtual std::string read_link(const std::string& path, std::error_code& error);

  // One entry of a folder; `type` does not follow symlinks.
  struct Child {
    std::string name;
    std::filesystem::file_type type = std::filesystem::file_type::unknown;
    std::filesystem::file_time_type time;  // last write (of the link itself for a symlink)
  };
  // The entries of `folder` (no "." or ".."); on failure none, with `error` set.
  virtual std::vector<Child> list(const std::string& folder, std::error_code& error);

  // The library's warnings: something went wrong and the run goes on (a skipped damaged
  // checkpoint, a save that failed under save_ignore_errors, a dropped log record).
  virtual void warn(const std::string& message);
};

// Forwards every call to `target` (LevelDB's EnvWrapper): a test overrides only what it changes.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& target) : target_(target) {}
  Env& target() const { return target_; }

  int open(const char* path, int flags, mode_t mode) override { return target_.open(path, flags, mode); }
  ssize_t write(int fd, const void* data, size_t size) override { return target_.write(fd, data, size); }
  int fsync(int fd) override { return target_.fsync(fd); }
  int close(int fd) override { return target_.close(fd); }
  int rename(const char* from, const char* to) override { return target_.rename(from, to); }
  int link(const char* existing, const char* new_path) override { return target_.link(existing, new_path); }
  int symlink(const char* target, const char* link_path) override { return target_.symlink(target, link_path); }
  int unlink(const char* path) override { return target_.unlink(path); }
  int truncate(const char* path, off_t size) override { return target_.truncate(path, size); }
  void create_directories(const std::string& path, std::error_code& error) override {
    target_.create_directories(path, error);
  }
  void copy_file(const std::string& from, const std::string& to, std::error_code& error) override {
    target_.copy_file(from, to, error);
  }
  std::string read_link(const std::string& path, std::error_code& error) override {
    return target_.read_link(path, error);
  }
  std::vector<Child> list(const std::string& folder, std::error_code& error) override {
    return target_.list(folder, error);
  }
  void warn(const std::string& message) override { target_.warn(message); }

 private:
  Env& target_;
};

}  // namespace tempo
