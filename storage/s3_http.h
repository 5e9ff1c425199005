// One HTTP exchange with an S3 endpoint, over a libcurl easy handle that libcurl also signs with
// (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"): no hand-written HTTP or crypto. Private to storage/;
// libcurl's header stays in the .cpp.
//
// What signing needs of the caller, on every libcurl from 7.88 (Debian 12) on:
// - the URL already URI-encoded (s3_uri_encode) and its query canonical (s3_query): libcurl 7.88
//   signs path and query exactly as given (8.x re-canonicalises the query, to the same text);
// - every header in HttpRequest::headers is signed, so none may be empty or a removal ("Expect:"),
//   which curl would sign but not send;
// - x-amz-content-sha256 is added here as UNSIGNED-PAYLOAD (libcurl 7.88 does not add it; 8.x
//   uses ours), which AWS, s3rver and moto accept: the body is covered by Content-MD5 instead.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tempo {

struct S3Credentials {
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // sent as x-amz-security-token when set
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;             // encoded, canonical query (see above)
  std::vector<std::string> headers;  // "name: value"
  // PUT/POST: the body, `body_size` bytes, not owned (read again from the start on a retry).
  const char* body = nullptr;
  size_t body_size = 0;
  // A successful GET writes its body here, at most `capacity` bytes; without it, to
  // HttpResponse::body. An error answer's body always goes to HttpResponse::body.
  char* into = nullptr;
  size_t capacity = 0;
};

struct HttpResponse {
  long status = 0;      // the final HTTP status; 0 when none came (see curl_code)
  int curl_code = 0;    // CURLcode; 0 when the exchange completed
  std::string curl_error;  // libcurl's words for curl_code
  std::string body;
  size_t received = 0;  // bytes written to HttpRequest::into
  bool overflow = false;  // the body was longer than HttpRequest::capacity
  std::string etag;     // quotes removed
  int64_t content_length = -1;
  int64_t last_modified = 0;  // seconds since the epoch; 0 when not sent
  // Whether the object is encrypted with a KMS or customer key (x-amz-server-side-encryption
  // aws:kms..., or an SSE-C algorithm header): its ETag is then not the MD5 of its bytes.
  bool etag_not_md5 = false;

  bool ok() const { return curl_code == 0 && status >= 200 && status < 300; }
  // No answer because the request was abandoned (HttpConnection::perform's `cancel`).
  bool cancelled() const;
  // No answer within the time perform() was given, or the transfer stalled.
  bool timed_out() const;
  // A failure to exchange (curl_code set) that another try may not meet: refused, reset or
  // dropped connections, timeouts, stalls, name lookups; not a malformed URL, a refused TLS
  // certificate, a body longer than asked for, or a cancel.
  bool transport_retryable() const;
};

class HttpConnection {
 public:
  // `connect_timeout`: seconds to connect; `stall_timeout`: seconds a transfer may move no byte
  // (CURLOPT_LOW_SPEED_TIME) before it is abandoned. Initialises libcurl once per process.
  HttpConnection(S3Credentials credentials, double connect_timeout, double stall_timeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `request` on this handle's kept-alive connection (a new one when there is none) and
  // waits for the answer, at most `timeout_ms` (0: no bound beyond the connect and stall
  // timeouts); abandons it soon after *cancel becomes true. Throws nothing: failures are in the
  // response. One thread at a time.
  HttpResponse perform(const HttpRequest& request, int64_t timeout_ms, const std::atomic<bool>* cancel = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tempo
