// The S3 backend of ObjectStore: one bucket of AWS S3 or of an S3-compatible server (MinIO, Ceph,
// s3rver, moto), spoken to over HTTP(S) by libcurl, which also signs each request (SigV4).
//
// Where it connects and as whom: storage/s3_credentials.h (options first, then the variables and
// files boto3 and Composer read). A custom endpoint is addressed path-style
// (http://host:port/bucket/key); AWS's own, virtual-hosted (https://bucket.s3.region.amazonaws.com)
// when the bucket name allows it.
//
// How it transfers (ObjectStoreOptions): a file below multipart_threshold goes up in one PUT;
// a larger one as a multipart upload of part_size parts, `concurrency` of them in flight, each
// sent with its Content-MD5 and its returned ETag checked, the whole object's size checked by a
// HEAD at the end, and the upload aborted (nothing left behind) when anything fails. A download
// fetches `concurrency` ranges at once into memory and writes them in order through the Env to a
// temporary beside the destination (serialization/atomic_file.h), fsynced and renamed.
// Each request is tried num_attempts times on a 5xx answer, a timeout, a stalled transfer or a
// refused or dropped connection, never on a 4xx; transfer_deadline bounds a whole upload or
// download, retries included.
//
// Errors are one line naming the s3:// URI and the endpoint: a refused signature or key (403)
// names the S3 error code and the credential variables to check; a missing bucket says so; a
// missing key is ObjectNotFoundError.
#pragma once

#include <memory>
#include <string>

#include "tempo/storage/object_store.h"

namespace tempo {

// An S3 bucket: ObjectStore's contract (storage/object_store.h). Throws StorageError when no
// credentials are found (naming every variable and file looked at) and ConfigError for options
// out of range.
std::unique_ptr<ObjectStore> make_s3_object_store(const std::string& bucket, const ObjectStoreOptions& options);

}  // namespace tempo
