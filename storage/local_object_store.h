// LocalObjectStore: ObjectStore's contract (storage/object_store.h) over a folder of this machine,
// the store behind file:// URIs and the one tests use without a server. A key is a path below the
// root folder; an object is a regular file, written as a checkpoint is (a temporary in the same
// folder, fsynced, renamed), so a reader never sees half an object. Listing skips temporaries.
// Throws StorageError naming the file:// URI and the OS error; ObjectNotFoundError for a missing key.
#pragma once

#include <string>

#include "tempo/storage/object_store.h"

namespace tempo {

class LocalObjectStore : public ObjectStore {
 public:
  // Requires: `root` an absolute folder (created on the first upload when missing).
  explicit LocalObjectStore(std::string root, Env* env = nullptr);

  std::string uri(const std::string& key) const override;
  void upload(const std::string& local_path, const std::string& key, const TransferProgressFn& progress = {}) override;
  void download(const std::string& key, const std::string& local_path,
                const TransferProgressFn& progress = {}) override;
  void put(const std::string& key, const std::string& bytes) override;
  std::string get(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  std::optional<ObjectInfo> stat(const std::string& key) override;
  void remove(const std::string& key) override;

 private:
  std::string path_of(const std::string& key) const;
  // Copies `from` to `to` atomically through the Env; `what` names the operation in errors.
  void copy(const std::string& from, const std::string& to, const std::string& what,
            const TransferProgressFn& progress);

  std::string root_;
  Env* env_;
};

}  // namespace tempo
