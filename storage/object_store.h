// ObjectStore: where checkpoints and run files go beyond the local disk (Composer's ObjectStore:
// S3, and the local folder behind file://). One bucket (or folder) per store; keys are '/'-joined
// names inside it, never starting with '/'. Another backend (GCS's XML API, Azure) is one new
// class and one line in make_object_store.
//
// Contract of every implementation:
// - upload() makes `key` hold exactly the bytes of the local file, or throws and leaves `key` as it
//   was before (S3: a multipart upload that fails is aborted); it returns only once the store
//   holds the whole object and its size (and, where the store returns one, its checksum) was
//   checked against the local file.
// - download() writes the object to `local_path` atomically (a temporary in the same folder,
//   fsynced and renamed), checking the size; on failure (disk full, a dropped connection after
//   the retries) nothing is left at `local_path` or beside it.
// - progress(done, total) is called on the calling thread, from time to time and once at the end.
// - Thread-safe: one store may serve several threads at once.
// Throws: ObjectNotFoundError for a key that does not exist (download, get); StorageError for
// everything else, naming the URI (never a secret) and the cause.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tempo/storage/object_store_options.h"

namespace tempo {

// "s3://bucket/some/key" -> {"s3", "bucket", "some/key"}; "file:///abs/folder" -> {"file", "",
// "abs/folder"}: a file:// store's bucket is the root folder "/". A key never starts with '/'.
struct ObjectUri {
  std::string scheme;
  std::string bucket;
  std::string key;
  // scheme://bucket/key, as given.
  std::string str() const;
};

// Whether `path` is written as a URI ("scheme://..."), not a local path.
bool is_object_uri(const std::string& path);
// Throws ConfigError, naming `option`, for what is not "<scheme>://<bucket>[/<key>]" with a
// scheme make_object_store knows (s3, file).
ObjectUri parse_object_uri(const std::string& uri, const std::string& option);

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;          // as the store gives it, quotes removed; may be empty
  int64_t last_modified = 0;  // seconds since the epoch; 0 when unknown
};

using TransferProgressFn = std::function<void(uint64_t done, uint64_t total)>;

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // "s3://bucket/key": how messages name an object of this store.
  virtual std::string uri(const std::string& key) const = 0;

  virtual void upload(const std::string& local_path, const std::string& key,
                      const TransferProgressFn& progress = {}) = 0;
  virtual void download(const std::string& key, const std::string& local_path,
                        const TransferProgressFn& progress = {}) = 0;
  // A small object (a `.symlink`) from and to memory.
  virtual void put(const std::string& key, const std::string& bytes) = 0;
  virtual std::string get(const std::string& key) = 0;
  // The objects whose key starts with `prefix`, in key order.
  virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;
  // The object's size and etag, or nothing when it does not exist.
  virtual std::optional<ObjectInfo> stat(const std::string& key) = 0;
  // Deleting a key that does not exist is not an error.
  virtual void remove(const std::string& key) = 0;
};

// The store of `uri`'s scheme and bucket (the key part is not the store's): S3 for s3:// (the
// endpoint, region and credentials from options, else the environment: storage/s3_credentials.h),
// a LocalObjectStore over "/" for file://.
// Throws ConfigError for an unknown scheme, StorageError when credentials are missing.
std::unique_ptr<ObjectStore> make_object_store(const ObjectUri& uri, const ObjectStoreOptions& options = {});

}  // namespace tempo
