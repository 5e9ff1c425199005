// The requests of S3ObjectStore that move an object's bytes, over an S3Client
// (storage/s3_client.h). Each throws as ObjectStore's contract says (storage/object_store.h):
// StorageError "<doing>: <cause>", ObjectNotFoundError for a missing key. Private to storage/.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "tempo/storage/object_store.h"
#include "tempo/storage/s3_client.h"

namespace tempo {

// PutObject of `size` bytes from memory, with their Content-MD5; the returned ETag is checked
// against that MD5 where it is one (s3_text.h: etag_matches).
void s3_put_object(const S3Client& client, HttpConnection& connection, const std::string& key, const char* data,
                   size_t size, const std::string& doing, const Deadline& deadline);

// HeadObject: the object's size, ETag and time, or nothing for a 404.
std::optional<ObjectInfo> s3_head_object(const S3Client& client, HttpConnection& connection, const std::string& key,
                                         const std::string& doing, const Deadline& deadline);

// ObjectStore::upload: one PUT below multipart_threshold, else a multipart upload of part_size
// parts (grown so that there are at most 10,000, S3's limit), `concurrency` parts at once on
// threads of their own, each read with pread, its MD5 computed and sent there; the size checked
// by a HEAD after CompleteMultipartUpload; AbortMultipartUpload when anything fails.
void s3_upload_file(S3Client& client, const std::string& local_path, const std::string& key,
                    const TransferProgressFn& progress);

// ObjectStore::download: HEAD for the size, then ranges of part_size bytes, `concurrency` in
// flight (at most twice that many held in memory), written in order through the Env to a
// temporary beside `local_path` (AtomicFile: fsynced, renamed; removed on failure).
void s3_download_file(S3Client& client, const std::string& key, const std::string& local_path,
                      const TransferProgressFn& progress);

}  // namespace tempo
