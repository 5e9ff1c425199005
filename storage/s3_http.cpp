#include "tempo/storage/s3_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace tempo {
namespace {

// curl_global_init is not thread-safe before libcurl 7.84: once, before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

// What the callbacks of one perform() share.
struct Exchange {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  size_t sent = 0;  // bytes of the body handed to curl
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const size_t n = std::min(size * count, x.request->body_size - x.sent);
  if (n > 0) std::memcpy(buffer, x.request->body + x.sent, n);
  x.sent += n;
  return n;
}

// curl rewinds the body when it must send it again on the same exchange (a redirect, an answer
// to Expect: 100-continue that came late).
int seek_body(void* user, curl_off_t offset, int origin) {
  auto& x = *static_cast<Exchange*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > x.request->body_size) return CURL_SEEKFUNC_FAIL;
  x.sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &status);
  if (x.request->into == nullptr || status < 200 || status >= 300) {
    x.response->body.append(data, n);
    return n;
  }
  const size_t room = x.request->capacity - x.response->received;
  if (n > room) {
    x.response->overflow = true;
    return 0;  // CURLE_WRITE_ERROR: a body longer than asked for is not the range we wanted
  }
  std::memcpy(x.request->into + x.response->received, data, n);
  x.response->received += n;
  return n;
}

std::string trimmed(const char* data, size_t n) {
  size_t begin = 0;
  while (begin < n && (data[begin] == ' ' || data[begin] == '\t')) ++begin;
  while (n > begin && std::isspace(static_cast<unsigned char>(data[n - 1]))) --n;
  return std::string(data + begin, n - begin);
}

// Headers of each answer in turn ("100 Continue" comes before the final one): a status line
// starts a new answer.
size_t read_header(char* data, size_t size, size_t count, void* user) {
  auto& response = *static_cast<Exchange*>(user)->response;
  const size_t n = size * count;
  const std::string line(data, n);
  if (line.compare(0, 5, "HTTP/") == 0) {
    response.etag.clear();
    response.content_length = -1;
    response.last_modified = 0;
    response.etag_not_md5 = false;
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string value = trimmed(data + colon + 1, n - colon - 1);
  if (name == "etag") {
    response.etag = value;
    response.etag.erase(std::remove(response.etag.begin(), response.etag.end(), '"'), response.etag.end());
  } else if (name == "content-length") {
    response.content_length = std::strtoll(value.c_str(), nullptr, 10);
  } else if (name == "x-amz-server-side-encryption") {
    response.etag_not_md5 = response.etag_not_md5 || value.compare(0, 7, "aws:kms") == 0;
  } else if (name == "x-amz-server-side-encryption-customer-algorithm") {
    response.etag_not_md5 = true;
  } else if (name == "last-modified") {
    const time_t t = curl_getdate(value.c_str(), nullptr);
    response.last_modified = t > 0 ? static_cast<int64_t>(t) : 0;
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<Exchange*>(user)->cancel;
  return cancel != nullptr && cancel->load() ? 1 : 0;
}

}  // namespace

bool HttpResponse::cancelled() const { return curl_code == CURLE_ABORTED_BY_CALLBACK; }
bool HttpResponse::timed_out() const { return curl_code == CURLE_OPERATION_TIMEDOUT; }

bool HttpResponse::transport_retryable() const {
  switch (curl_code) {
    case CURLE_OK:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_LOGIN_DENIED:
      return false;
    default:
      return true;
  }
}

struct HttpConnection::Impl {
  S3Credentials credentials;
  std::string sigv4;    // "aws:amz:<region>:s3"
  std::string userpwd;  // "<key id>:<secret>"
  long connect_timeout_ms = 0;
  long stall_seconds = 0;
  CURL* curl = nullptr;
};

HttpConnection::HttpConnection(S3Credentials credentials, double connect_timeout, double stall_timeout)
    : impl_(std::make_unique<Impl>()) {
  init_curl_once();
  impl_->sigv4 = "aws:amz:" + credentials.region + ":s3";
  impl_->userpwd = credentials.access_key_id + ":" + credentials.secret_access_key;
  impl_->credentials = std::move(credentials);
  impl_->connect_timeout_ms = std::max(1L, std::lround(connect_timeout * 1000));
  // CURLOPT_LOW_SPEED_TIME counts whole seconds.
  impl_->stall_seconds = std::max(1L, static_cast<long>(std::ceil(stall_timeout)));
  impl_->curl = curl_easy_init();
  if (impl_->curl == nullptr) throw std::runtime_error("curl_easy_init failed");
}

HttpConnection::~HttpConnection() { curl_easy_cleanup(impl_->curl); }

HttpResponse HttpConnection::perform(const HttpRequest& request, int64_t timeout_ms, const std::atomic<bool>* cancel) {
  CURL* curl = impl_->curl;
  HttpResponse response;
  Exchange exchange{curl, &request, &response, cancel, 0};
  // A reset keeps the handle's connection, DNS and TLS session caches: only the options go.
  curl_easy_reset(curl);

  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!impl_->credentials.session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + impl_->credentials.session_token).c_str());
  }

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // a key's "./" or "../" is part of its name
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, impl_->sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, impl_->userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, impl_->connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, impl_->stall_seconds);
  if (timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);

  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // Both as an upload from memory through the read callback (no copy of the body; POST through
    // CURLOPT_POSTFIELDS would add a form Content-Type).
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &exchange);
    if (request.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  response.curl_code = code;
  if (code != CURLE_OK) {
    response.curl_error = error[0] != '\0' ? error : curl_easy_strerror(code);
    while (!response.curl_error.empty() && response.curl_error.back() == '\n') response.curl_error.pop_back();
    response.status = 0;
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  }
  // The error buffer is on this stack frame: the handle must not keep it.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  return response;
}

}  // namespace tempo
