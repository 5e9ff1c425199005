// Where an S3 store connects and as whom, resolved the way boto3 (and so Composer) resolves it,
// so that a bucket a user reaches with `aws s3 ls` or Composer is reached by tempo unchanged:
//
//   endpoint   options.endpoint_url, else S3_ENDPOINT_URL (Composer's), else AWS_ENDPOINT_URL_S3,
//              else AWS_ENDPOINT_URL, else AWS's https://s3.<region>.amazonaws.com
//   keys       AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the profile's
//              aws_access_key_id / aws_secret_access_key / aws_session_token in the shared
//              credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, section
//              "[NAME]"), else in the config file (AWS_CONFIG_FILE, else ~/.aws/config, section
//              "[profile NAME]", or "[default]")
//   profile    options.profile, else AWS_PROFILE, else "default"
//   region     options.region, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's
//              `region` in the config file, else us-east-1
// A variable set to the empty string counts as unset. Not supported (boto3 has them): SSO,
// credential_process, assumed roles, and the EC2/ECS metadata services; such a setup works here
// through exported keys (`aws configure export-credentials --format env`).
//
// The environment is passed in as a lookup (LevelDB passes its Env the same way), so tests
// resolve any setup without touching the process's variables.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "tempo/storage/object_store_options.h"

namespace tempo {

// The value of one environment variable, or nothing when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// getenv() of this process.
EnvironmentLookup process_environment();

struct S3Settings {
  // "scheme://host[:port]", no trailing '/'.
  std::string endpoint;
  // Set from options or a variable (a local or S3-compatible server): requests are path-style,
  // endpoint/bucket/key. Unset (AWS): virtual-hosted, bucket.endpoint-host/key.
  bool custom_endpoint = false;
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: none
  // Where the keys came from, for messages ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", or
  // "profile 'dev' of /home/me/.aws/credentials"). Never a secret.
  std::string credentials_source;
};

// Resolves the settings above.
// Throws StorageError when no keys are found (naming every variable and file looked at, never a
// value) or only half of a pair is; ConfigError for an endpoint that is not http(s)://host[:port].
S3Settings resolve_s3_settings(const ObjectStoreOptions& options, const EnvironmentLookup& environment);

}  // namespace tempo
