// The append-only output of the file and TensorBoard loggers. Records (complete lines, or
// complete TFRecords) are kept in memory until flush(), which hands each one to the kernel with a
// single write(2), so a process killed at any instant (SIGKILL included) leaves only whole
// records in the file: at most the unflushed ones are lost. Records added before open() wait
// for it. A failed write does not stop training: it sends one warning naming the file and the OS
// error to the run's Env, and records are dropped from then on (the warning says so). Every file
// call goes through the Env given to open() (serialization/env.h).
// open() throws ConfigError naming the file when it cannot be created.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tempo/serialization/env.h"

namespace tempo {

class RecordWriter {
 public:
  // `what` names the writer in messages ("file logger").
  explicit RecordWriter(std::string what) : what_(std::move(what)) {}
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Creates the parent folders, then opens `path` for appending (emptying it first if `truncate`).
  void open(const std::string& path, bool truncate, Env& env = Env::posix());
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  void add(std::string record) { pending_.push_back(std::move(record)); }
  // Ahead of everything pending (a file's header record).
  void add_front(std::string record) { pending_.insert(pending_.begin(), std::move(record)); }
  size_t pending() const { return pending_.size(); }
  // Writes what is pending (nothing before open()); with `sync`, also fsyncs the file.
  void flush(bool sync = false);
  // Flushes, fsyncs and closes; add() after close() keeps records in memory only.
  void close();

 private:
  void warn(const std::string& what, int error);

  std::string what_;
  Env* env_ = &Env::posix();
  std::string path_;
  int fd_ = -1;
  bool failed_ = false;
  std::vector<std::string> pending_;
};

}  // namespace tempo
