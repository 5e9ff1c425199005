#include "tempo/storage/object_store.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/storage/local_object_store.h"
#include "tempo/storage/s3_object_store.h"

namespace tempo {

std::string ObjectUri::str() const { return fmt::format("{}://{}/{}", scheme, bucket, key); }

bool is_object_uri(const std::string& path) {
  // RFC 3986's scheme: a letter, then letters, digits, '+', '-' or '.', then "://".
  const auto colon = path.find("://");
  if (colon == std::string::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(path[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

ObjectUri parse_object_uri(const std::string& text, const std::string& option) {
  if (!is_object_uri(text)) {
    throw ConfigError(fmt::format("{}: expected a URI such as s3://bucket/prefix or file:///folder, got \"{}\"", option,
                                  text));
  }
  ObjectUri uri;
  const auto colon = text.find("://");
  for (size_t i = 0; i < colon; ++i) uri.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  const auto rest = text.substr(colon + 3);
  const auto slash = rest.find('/');
  uri.bucket = rest.substr(0, slash);
  uri.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (uri.scheme == "s3") {
    if (uri.bucket.empty()) {
      throw ConfigError(fmt::format("{}: \"{}\" names no bucket; expected s3://<bucket>/<prefix>", option, text));
    }
    if (!uri.key.empty() && uri.key.front() == '/') {
      throw ConfigError(fmt::format("{}: \"{}\" has an empty part after the bucket ('//'); expected "
                                    "s3://<bucket>/<prefix>", option, text));
    }
  } else if (uri.scheme == "file") {
    if (!uri.bucket.empty() && uri.bucket != "localhost") {
      throw ConfigError(fmt::format("{}: \"{}\" names the host '{}'; a file:// URI names a folder of this machine, "
                                    "file:///absolute/folder", option, text, uri.bucket));
    }
    uri.bucket.clear();
  } else {
    throw ConfigError(fmt::format("{}: the object store \"{}://\" of \"{}\" is not supported; expected s3:// "
                                  "(S3 or an S3-compatible server) or file://", option, uri.scheme, text));
  }
  for (size_t begin = 0; begin <= uri.key.size();) {  // no "." or ".." part: a key means one object
    const auto end = std::min(uri.key.find('/', begin), uri.key.size());
    const auto part = uri.key.substr(begin, end - begin);
    if (part == "." || part == "..") {
      throw ConfigError(fmt::format("{}: \"{}\" has a '{}' part; expected a plain key", option, text, part));
    }
    begin = end + 1;
  }
  return uri;
}

void check_object_store_options(const ObjectStoreOptions& options) {
  const auto fail = [](const std::string& what) { throw ConfigError("object_store: " + what); };
  if (options.part_size() < (5 << 20) || options.part_size() > (int64_t{5} << 30)) {
    fail(fmt::format("part_size is {}: expected 5 MiB (5242880) to 5 GiB, S3's limits on a part", options.part_size()));
  }
  if (options.multipart_threshold() < 0) fail("multipart_threshold is negative: expected a size in bytes");
  if (options.concurrency() < 1 || options.concurrency() > 64) {
    fail(fmt::format("concurrency is {}: expected 1 to 64 transfers at once", options.concurrency()));
  }
  if (options.num_attempts() < 1) fail(fmt::format("num_attempts is {}: expected at least 1", options.num_attempts()));
  const auto positive = [&](double value, const char* name) {
    if (!(value > 0) || !std::isfinite(value)) fail(fmt::format("{} is {}: expected a positive number of seconds", name, value));
  };
  positive(options.connect_timeout(), "connect_timeout");
  positive(options.stall_timeout(), "stall_timeout");
  if (!(options.transfer_deadline() >= 0) || !std::isfinite(options.transfer_deadline())) {
    fail(fmt::format("transfer_deadline is {}: expected seconds (0: no limit)", options.transfer_deadline()));
  }
}

std::unique_ptr<ObjectStore> make_object_store(const ObjectUri& uri, const ObjectStoreOptions& options) {
  check_object_store_options(options);
  if (uri.scheme == "s3") return make_s3_object_store(uri.bucket, options);
  if (uri.scheme == "file") return std::make_unique<LocalObjectStore>("/", options.env());
  throw ConfigError(fmt::format("the object store \"{}://\" is not supported; expected s3:// or file://", uri.scheme));
}

}  // namespace tempo
