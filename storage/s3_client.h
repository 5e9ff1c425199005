// S3Client: one bucket's conversation with its endpoint, beneath S3ObjectStore and the transfers
// (storage/s3_transfer.h). It builds each request's URL (path-style for a custom endpoint,
// virtual-hosted on AWS), lends connections (one per thread at a time, kept alive between
// requests), sends a request again when the failure is worth it, and turns a failure into the
// one-line StorageError users read. Private to storage/.
//
// Retries (send): a transport failure (refused, reset, dropped, timed out, stalled), a 5xx, a
// 429, or S3's 400 RequestTimeout, or a 2xx answer the caller's `check` refuses (a short body),
// is tried again after 0.5 s, 1 s, 2 s, ... (at most 10 s), num_attempts tries in all; other 4xx
// are final. A Deadline bounds the tries and the waits together.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tempo/storage/object_store.h"
#include "tempo/storage/s3_credentials.h"
#include "tempo/storage/s3_http.h"

namespace tempo {

// When a whole upload or download must have ended (transfer_deadline), or none.
struct Deadline {
  std::optional<std::chrono::steady_clock::time_point> at;
  double seconds = 0;  // as configured, for messages

  static Deadline after(double seconds);  // 0: none
  bool passed() const { return at && std::chrono::steady_clock::now() >= *at; }
  // Milliseconds left (at least 1), or 0 when there is no deadline.
  int64_t remaining_ms() const;
};

class S3Client {
 public:
  // `list_page_size`: keys per ListObjectsV2 page (S3's maximum, 1000; tests page by fewer).
  S3Client(std::string bucket, S3Settings settings, ObjectStoreOptions options, int list_page_size = 1000);

  const std::string& bucket() const { return bucket_; }
  const std::string& endpoint() const { return settings_.endpoint; }
  const ObjectStoreOptions& options() const { return options_; }
  Env& env() const { return options_.env() != nullptr ? *options_.env() : Env::posix(); }
  int list_page_size() const { return list_page_size_; }
  // "s3://bucket/key".
  std::string uri(const std::string& key) const { return "s3://" + bucket_ + "/" + key; }
  // The URL of `key` (empty: the bucket itself) with `query` (s3_query's pairs).
  std::string url(const std::string& key, std::vector<std::pair<std::string, std::string>> query = {}) const;

  // A connection of the pool, returned to it when the lease ends.
  class Lease {
   public:
    Lease(S3Client& client, std::unique_ptr<HttpConnection> connection)
        : client_(&client), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease();
    HttpConnection& operator*() const { return *connection_; }

   private:
    S3Client* client_;
    std::unique_ptr<HttpConnection> connection_;
  };
  Lease connection();

  // Says why a 2xx answer cannot be used and should be asked for again ("" when it can).
  using ResponseCheck = std::function<std::string(const HttpResponse&)>;

  // Sends `request` on `connection` until an answer is final (above). Returns it: a 2xx that
  // `check` accepts, or a final error answer for the caller to interpret (fail()).
  // Throws StorageError "<doing>: ..." when no usable answer came in num_attempts tries (naming
  // the endpoint, the last cause and the tries made) or the deadline passed; when *cancel became
  // true, a StorageError saying so (another part failed first; its error is the one to report).
  HttpResponse send(HttpConnection& connection, const HttpRequest& request, const std::string& doing,
                    const Deadline& deadline, const std::atomic<bool>* cancel = nullptr,
                    const ResponseCheck& check = {}) const;

  // Throws the error an unusable answer means, "<doing>: <what went wrong>": ObjectNotFoundError
  // for a missing key (NoSuchKey, or a bare 404 when `missing_is_not_found`), a StorageError
  // naming the bucket and endpoint for NoSuchBucket, the credentials to check for a 403, and
  // S3's code and message otherwise.
  [[noreturn]] void fail(const std::string& doing, const HttpResponse& response,
                         bool missing_is_not_found = true) const;

 private:
  friend class Lease;
  std::string describe_transport_failure(const HttpResponse& response) const;

  std::string bucket_;
  S3Settings settings_;
  ObjectStoreOptions options_;
  int list_page_size_;
  std::string base_url_;      // scheme://host[:port], the bucket's host for virtual-hosted
  std::string bucket_path_;   // "/bucket" path-style, "" virtual-hosted

  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpConnection>> idle_;
};

// make_s3_object_store (storage/s3_object_store.h) with settings the caller resolved (tests: any
// endpoint and keys, without the process's variables) and ListObjectsV2 pages of
// `list_page_size` keys.
std::unique_ptr<ObjectStore> make_s3_object_store(const std::string& bucket, const ObjectStoreOptions& options,
                                                  const S3Settings& settings, int list_page_size = 1000);

}  // namespace tempo
