// RemoteInput: a checkpoint named on the command line (`tempo inspect`, `tempo export`) as a local
// path or an object-store URI (s3://bucket/key.pt, file:///folder/key.pt; a ".symlink" object is
// followed). A URI is downloaded into a fresh temporary folder, removed with this object; the
// store is reached as TrainerOptions's defaults and the environment say (S3_ENDPOINT_URL,
// AWS_* variables, storage/s3_credentials.h).
// Throws ConfigError for a URI tempo cannot use, CheckpointError naming the URI when the download
// fails (missing key, credentials, network, disk).
#pragma once

#include <string>

namespace tempo::cli {

class RemoteInput {
 public:
  explicit RemoteInput(const std::string& path_or_uri);
  ~RemoteInput();
  RemoteInput(const RemoteInput&) = delete;
  RemoteInput& operator=(const RemoteInput&) = delete;

  // The local file to read: the path as given, or the downloaded copy.
  const std::string& local() const { return local_; }

 private:
  std::string folder_;  // the temporary folder; empty for a local path
  std::string local_;
};

}  // namespace tempo::cli
