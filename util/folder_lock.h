// FolderLock: one process's exclusive claim on a folder (a run's save folder) for as long as it
// holds it. The claim is flock(LOCK_EX | LOCK_NB) on a lock file in the folder, which holds the
// holder's pid for the message a second claimant gets. The kernel drops the lock when the
// descriptor is closed or the process dies, however it dies, so a crash never leaves a stale
// lock: the file stays behind, unlocked, and the next claim takes it over.
// A second claim on the same folder fails whether it comes from another process or from this
// one (flock locks belong to the open file, not the process).
//
// acquire(folder, file_name)
//   requires: `folder` exists; nothing is held yet.
//   ensures: "" and held() once the lock is taken and the file holds this process's pid; else
//     held() is false and the result says why, following the folder's name in a message: "is in
//     use by process 1234" (the pid the file holds), "is in use by another process", or "cannot be
//     locked: <strerror>".
// release(): drops the lock if held (the file is left in place: removing it would race with a
//   next claimant that has it open already). The destructor releases too.
// Throws nothing; free of LibTorch.
#pragma once

#include <string>

namespace tempo {

class FolderLock {
 public:
  FolderLock() = default;
  ~FolderLock() { release(); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  std::string acquire(const std::string& folder, const std::string& file_name);
  void release();
  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace tempo
