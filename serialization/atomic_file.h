// Atomic, durable file replacement for checkpoints and the `latest` link. A reader of `path` sees
// either the old content or the complete new one, never a torn file, even across a crash: the
// bytes go to a hidden temporary in the same folder (".tmp.<name>.<pid>.<n>", so folder scans can
// skip it), which is fsynced, renamed over `path`, and the folder is fsynced so the rename itself
// survives. Every failure throws tempo::CheckpointError naming the path and the OS error, and
// leaves no temporary behind. Every OS call goes through the Env passed in (serialization/env.h),
// Env::posix() by default, where tests inject faults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "tempo/serialization/env.h"

namespace tempo {

class AtomicFile {
 public:
  // Creates the temporary next to `path`; throws CheckpointError if the folder is unusable.
  // `what` names the file in messages ("cannot write <what> '<path>': ..."), so that each writer
  // says what it writes.
  explicit AtomicFile(std::string path, Env& env = Env::posix(), std::string what = "checkpoint");
  // Removes the temporary unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `size` bytes; throws CheckpointError (the temporary is removed by the destructor).
  void write(const void* data, size_t size);
  // fsync, rename over the target, fsync the folder. After it returns the new file is durable.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);

  Env& env_;
  std::string what_;
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Points `link_path` at `target` atomically (symlink at a temporary name, renamed over
// `link_path`, folder fsynced). Replaces an existing link or file; throws CheckpointError.
void atomic_symlink(const std::string& target, const std::string& link_path, Env& env = Env::posix());

// Makes `link_path` a second name of the existing file `existing` (a hard link, or a copy where
// the file system refuses links) atomically: linked or copied at a temporary name, renamed over
// `link_path`, folder fsynced. Replaces an existing file; throws CheckpointError.
void atomic_hard_link(const std::string& existing, const std::string& link_path, Env& env = Env::posix());

// Temporary names are ".tmp.<name>.<pid>.<n>" (made here, so parsed here): whether `filename` (a
// bare file name, no folder) starts like one, which folder scans skip, and the pid of the process
// that made it, when it is one in full. Nothing when it is not (a pid of 0 or past INT_MAX is not:
// kill(2) would read it as a process group).
bool is_temporary_name(const std::string& filename);
std::optional<int64_t> temporary_name_writer(const std::string& filename);

// The folder holding `path` ("." when it has none), for the fsync that makes renames durable.
std::string parent_folder(const std::string& path);

}  // namespace tempo
