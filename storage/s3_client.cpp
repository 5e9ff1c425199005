#include "tempo/storage/s3_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "tempo/errors/error.h"
#include "tempo/storage/s3_text.h"

namespace tempo {
namespace {

using Clock = std::chrono::steady_clock;

// A bucket AWS serves as <bucket>.s3.<region>.amazonaws.com: a DNS label of 3 to 63 lower-case
// letters, digits and hyphens. A name with dots would not match AWS's TLS certificate, so such a
// bucket (and any other) is addressed path-style.
bool virtual_host_compatible(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63 || bucket.front() == '-' || bucket.back() == '-') return false;
  return std::all_of(bucket.begin(), bucket.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// S3 asks to be asked again: throttling, its own timeouts, and every 5xx.
bool retryable_answer(const HttpResponse& response) {
  if (response.status >= 500 || response.status == 429) return true;
  const auto code = xml_text(response.body, "Code");
  return code == "RequestTimeout" || code == "SlowDown" || code == "InternalError";
}

std::string describe_answer(const HttpResponse& response) {
  const auto code = xml_text(response.body, "Code");
  const auto message = xml_text(response.body, "Message");
  std::string text = fmt::format("HTTP {}", response.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  return text;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Deadline Deadline::after(double seconds) {
  Deadline deadline;
  deadline.seconds = seconds;
  if (seconds > 0) {
    deadline.at = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  return deadline;
}

int64_t Deadline::remaining_ms() const {
  if (!at) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*at - Clock::now()).count();
  return std::max<int64_t>(1, left);
}

S3Client::S3Client(std::string bucket, S3Settings settings, ObjectStoreOptions options, int list_page_size)
    : bucket_(std::move(bucket)),
      settings_(std::move(settings)),
      options_(std::move(options)),
      list_page_size_(list_page_size) {
  if (bucket_.empty() || bucket_.find('/') != std::string::npos) {
    throw ConfigError(fmt::format("'{}' is not an S3 bucket name", bucket_));
  }
  if (!settings_.custom_endpoint && virtual_host_compatible(bucket_)) {
    base_url_ = "https://" + bucket_ + ".s3." + settings_.region + ".amazonaws.com";
  } else {
    base_url_ = settings_.endpoint;
    bucket_path_ = "/" + s3_uri_encode(bucket_, false);
  }
}

std::string S3Client::url(const std::string& key, std::vector<std::pair<std::string, std::string>> query) const {
  std::string url = base_url_ + bucket_path_;
  if (!key.empty() || bucket_path_.empty()) url += "/" + s3_uri_encode(key, true);
  const auto canonical = s3_query(std::move(query));
  if (!canonical.empty()) url += "?" + canonical;
  return url;
}

S3Client::Lease::~Lease() {
  if (!connection_) return;
  std::lock_guard<std::mutex> lock(client_->mutex_);
  client_->idle_.push_back(std::move(connection_));
}

S3Client::Lease S3Client::connection() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  S3Credentials credentials{settings_.region, settings_.access_key_id, settings_.secret_access_key,
                            settings_.session_token};
  return Lease(*this, std::make_unique<HttpConnection>(std::move(credentials), options_.connect_timeout(),
                                                      options_.stall_timeout()));
}

std::string S3Client::describe_transport_failure(const HttpResponse& response) const {
  return fmt::format("no answer from the endpoint {}: {} (curl error {})", settings_.endpoint, response.curl_error,
                     response.curl_code);
}

HttpResponse S3Client::send(HttpConnection& connection, const HttpRequest& request, const std::string& doing,
                            const Deadline& deadline, const std::atomic<bool>* cancel,
                            const ResponseCheck& check) const {
  const auto start = Clock::now();
  const auto cancelled = [&] { return cancel != nullptr && cancel->load(); };
  const auto out_of_time = [&](const std::string& last) {
    // `last` names the endpoint; without it, it is named here.
    const auto after = last.empty() ? " (endpoint " + settings_.endpoint + ")" : "; the last try: " + last;
    return StorageError(
        fmt::format("{}: did not finish within transfer_deadline ({} s){}", doing, deadline.seconds, after));
  };
  const auto give_up = [&] { return StorageError(doing + ": abandoned, as another part of the transfer failed"); };

  for (int attempt = 1;; ++attempt) {
    if (cancelled()) throw give_up();
    if (deadline.passed()) throw out_of_time("");
    HttpResponse response = connection.perform(request, deadline.remaining_ms(), cancel);
    std::string cause;
    if (response.curl_code != 0) {
      if (response.cancelled() && cancelled()) throw give_up();
      cause = describe_transport_failure(response);
      if (response.timed_out() && deadline.passed()) throw out_of_time(cause);
      if (!response.transport_retryable()) throw StorageError(doing + ": " + cause);
    } else if (response.ok()) {
      cause = check ? check(response) : "";
      if (cause.empty()) return response;
    } else if (retryable_answer(response)) {
      cause = fmt::format("{} from the endpoint {}", describe_answer(response), settings_.endpoint);
    } else {
      return response;  // final: the caller says what it means
    }

    if (attempt >= options_.num_attempts()) {
      throw StorageError(fmt::format("{}: {}; gave up after {} attempt{} in {:.1f} s", doing, cause, attempt,
                                     attempt == 1 ? "" : "s", seconds_since(start)));
    }
    // 0.5 s, 1 s, 2 s, ... at most 10 s; in short naps so that a cancel is seen.
    const double pause = std::min(10.0, 0.5 * std::pow(2.0, attempt - 1));
    const auto wake = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(pause));
    if (deadline.at && wake >= *deadline.at) throw out_of_time(cause);
    while (Clock::now() < wake) {
      if (cancelled()) throw give_up();
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(50), wake - Clock::now()));
    }
  }
}

void S3Client::fail(const std::string& doing, const HttpResponse& response, bool missing_is_not_found) const {
  if (response.curl_code != 0) throw StorageError(doing + ": " + describe_transport_failure(response));
  const auto code = xml_text(response.body, "Code");
  const auto answer = describe_answer(response);
  if (code == "NoSuchBucket") {
    throw StorageError(fmt::format("{}: the bucket '{}' does not exist at the endpoint {} ({})", doing, bucket_,
                                   settings_.endpoint, answer));
  }
  if (code == "NoSuchKey" || (response.status == 404 && code.empty() && missing_is_not_found)) {
    throw ObjectNotFoundError(fmt::format("{}: the object does not exist ({} from the endpoint {})", doing, answer,
                                          settings_.endpoint));
  }
  if (response.status == 403) {
    throw StorageError(fmt::format(
        "{}: the endpoint {} refused access to the bucket '{}' ({}); check the credentials (taken from {}{}) and "
        "that they may use this bucket",
        doing, settings_.endpoint, bucket_, answer, settings_.credentials_source,
        settings_.session_token.empty() ? "" : ", with AWS_SESSION_TOKEN"));
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
      code == "IllegalLocationConstraintException") {
    throw StorageError(fmt::format("{}: {} (endpoint {}); the bucket '{}' is not in the region '{}': set "
                                   "object_store.region or AWS_REGION to its region",
                                   doing, answer, settings_.endpoint, bucket_, settings_.region));
  }
  throw StorageError(fmt::format("{}: {} (endpoint {})", doing, answer, settings_.endpoint));
}

}  // namespace tempo
