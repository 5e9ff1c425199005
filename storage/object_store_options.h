// ObjectStoreOptions: how tempo talks to an object store (YAML: the `object_store` section). Each
// default is what a run on a cloud bucket or a local S3 server wants without tuning; the
// transfer defaults are boto3's order of magnitude (8 MiB parts, about ten at once).
// Checked by check_object_store_options (ConfigError naming the option) before use.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "tempo/serialization/env.h"

namespace tempo {

// A name for the pointer type: TORCH_ARG spells `const T&`, which must mean a const pointer.
using EnvPointer = Env*;

struct ObjectStoreOptions {
  // The S3 endpoint; empty: S3_ENDPOINT_URL, then AWS_ENDPOINT_URL, then AWS's for the region.
  TORCH_ARG(std::string, endpoint_url) = "";
  // Empty: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region, then us-east-1.
  TORCH_ARG(std::string, region) = "";
  // Empty: AWS_PROFILE, then "default" (for ~/.aws/credentials and ~/.aws/config).
  TORCH_ARG(std::string, profile) = "";
  // Files at least this large are uploaded in parts of part_size bytes (S3: at least 5 MiB).
  TORCH_ARG(int64_t, part_size) = 8 << 20;
  TORCH_ARG(int64_t, multipart_threshold) = 8 << 20;
  // Parts (and ranges of a download) in flight at once.
  TORCH_ARG(int64_t, concurrency) = 8;
  // Tries of each request, the first included; a 5xx answer, a timeout or a dropped connection
  // is tried again after 0.5 s, 1 s, 2 s ... (at most 10 s); a 4xx answer is not.
  TORCH_ARG(int64_t, num_attempts) = 5;
  // Seconds to connect, and seconds a transfer may go without moving a byte.
  TORCH_ARG(double, connect_timeout) = 10.0;
  TORCH_ARG(double, stall_timeout) = 30.0;
  // Seconds one upload or download may take in all, retries included; 0: no limit.
  TORCH_ARG(double, transfer_deadline) = 3600.0;
  // Where downloads write (and tests inject a full disk); null: Env::posix().
  TORCH_ARG(EnvPointer, env) = nullptr;
};

// Throws ConfigError naming the first option out of range.
void check_object_store_options(const ObjectStoreOptions& options);

}  // namespace tempo
