#include "tempo/storage/s3_transfer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/storage/s3_text.h"
#include "tempo/util/regular_file.h"

namespace tempo {
namespace {

constexpr uint64_t kMaxParts = 10000;  // S3's limit on the parts of one upload
constexpr size_t kWritePiece = 256 << 10;

struct FileCloser {
  int fd;
  ~FileCloser() { ::close(fd); }
};

// `size` bytes of `fd` at `offset`; StorageError when the file ends early (it shrank).
void read_exactly(int fd, char* into, size_t size, uint64_t offset, const std::string& doing) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, into + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw StorageError(fmt::format("{}: cannot read the file: {}", doing, std::strerror(errno)));
    if (n == 0) throw StorageError(fmt::format("{}: the file shrank while it was uploaded", doing));
    done += static_cast<size_t>(n);
  }
}

std::string etag_check(const HttpResponse& response, const Md5Digest& digest) {
  if (response.etag_not_md5 || etag_matches(response.etag, digest)) return "";
  return fmt::format("the ETag returned, {}, is not the MD5 of the bytes sent, {}", response.etag, md5_hex(digest));
}

// Threads that each run `body` with a connection of their own; the first one to throw cancels
// the others (their transfers stop within moments: HttpConnection's cancel), and its exception
// is the one rethrow() throws. The caller's thread waits in wait(), polling for progress; what
// the workers and it share is guarded by mutex(), and changes to it are signalled by notify().
class Workers {
 public:
  using Body = std::function<void(HttpConnection&, const std::atomic<bool>& cancel)>;

  explicit Workers(S3Client& client) : client_(client) {}
  ~Workers() { stop(); }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  void start(size_t count, const Body& body) {
    running_ = count;
    for (size_t i = 0; i < count; ++i) {
      threads_.emplace_back([this, body] {
        try {
          auto lease = client_.connection();
          body(*lease, cancel_);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!error_) error_ = std::current_exception();
          cancel_ = true;
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          --running_;
        }
        changed_.notify_all();
      });
    }
  }

  std::mutex& mutex() { return mutex_; }
  std::condition_variable& changed() { return changed_; }
  void notify() { changed_.notify_all(); }
  // Whether a worker failed; under mutex().
  bool failed_locked() const { return error_ != nullptr; }

  // Until every worker has ended or one failed, calls tick() on this thread after each notify()
  // and at least every 100 ms.
  void wait(const std::function<void()>& tick) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (running_ > 0 && !cancel_) {
      changed_.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      tick();
      lock.lock();
    }
  }
  // Cancels the workers that still run and waits for them.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancel_ = true;
    }
    changed_.notify_all();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  // After stop(): the first worker's exception, if one threw.
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  S3Client& client_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> cancel_{false};
  size_t running_ = 0;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

// Calls `progress` with what changed since its last call; finish() makes the one call at the end.
class ProgressReport {
 public:
  ProgressReport(const TransferProgressFn& progress, uint64_t total) : progress_(progress), total_(total) {}
  void update(uint64_t done) {
    if (progress_ && done != last_ && done < total_) progress_(last_ = done, total_);
  }
  void finish() {
    if (progress_) progress_(total_, total_);
  }

 private:
  const TransferProgressFn& progress_;
  uint64_t total_;
  uint64_t last_ = 0;
};

void upload_multipart(S3Client& client, int fd, uint64_t size, const std::string& key, const std::string& doing,
                      const Deadline& deadline, const TransferProgressFn& progress);

}  // namespace

void s3_put_object(const S3Client& client, HttpConnection& connection, const std::string& key, const char* data,
                   size_t size, const std::string& doing, const Deadline& deadline) {
  const auto digest = md5_digest(data, size);
  HttpRequest put;
  put.method = "PUT";
  put.url = client.url(key);
  put.headers = {"content-type: application/octet-stream", "content-md5: " + md5_base64(digest)};
  put.body = data;
  put.body_size = size;
  const auto response = client.send(connection, put, doing, deadline, nullptr,
                                    [&](const HttpResponse& r) { return etag_check(r, digest); });
  if (!response.ok()) client.fail(doing, response, false);
}

std::optional<ObjectInfo> s3_head_object(const S3Client& client, HttpConnection& connection, const std::string& key,
                                         const std::string& doing, const Deadline& deadline) {
  HttpRequest head;
  head.method = "HEAD";
  head.url = client.url(key);
  const auto response = client.send(connection, head, doing, deadline);
  if (response.status == 404) return std::nullopt;
  if (!response.ok()) client.fail(doing, response);
  ObjectInfo info;
  info.key = key;
  info.size = response.content_length < 0 ? 0 : static_cast<uint64_t>(response.content_length);
  info.etag = response.etag;
  info.last_modified = response.last_modified;
  return info;
}

void s3_upload_file(S3Client& client, const std::string& local_path, const std::string& key,
                    const TransferProgressFn& progress) {
  const std::string doing = fmt::format("uploading '{}' to {}", local_path, client.uri(key));
  const auto deadline = Deadline::after(client.options().transfer_deadline());
  std::string why;
  uint64_t size = 0;
  const int fd = open_regular_file(local_path, why, &size);
  if (fd < 0) throw StorageError(fmt::format("{}: the file {}", doing, why));
  FileCloser closer{fd};

  if (size == 0 || size < static_cast<uint64_t>(client.options().multipart_threshold())) {
    std::vector<char> bytes(size);
    read_exactly(fd, bytes.data(), bytes.size(), 0, doing);
    auto lease = client.connection();
    s3_put_object(client, *lease, key, bytes.data(), bytes.size(), doing, deadline);
  } else {
    upload_multipart(client, fd, size, key, doing, deadline, progress);
  }
  ProgressReport(progress, size).finish();
}

namespace {

// AbortMultipartUpload, so that S3 keeps (and bills) no parts; "" when it worked, else why not
// (s3rver does not implement it), for the message of the failure that led here. Its own short
// time budget: the transfer's deadline may be what has passed.
std::string abort_upload(S3Client& client, HttpConnection& connection, const std::string& key,
                         const std::string& upload_id) {
  HttpRequest abort;
  abort.method = "DELETE";
  abort.url = client.url(key, {{"uploadId", upload_id}});
  const auto budget = Deadline::after(client.options().connect_timeout() + client.options().stall_timeout() + 1);
  try {
    const std::string doing = "AbortMultipartUpload failed too";
    const auto response = client.send(connection, abort, doing, budget);
    if (response.ok() || response.status == 404) return "";
    client.fail(doing, response, false);
  } catch (const StorageError& e) {
    return fmt::format("; and its parts stay on the server (upload id {}), as {}", upload_id, e.what());
  }
}

void upload_multipart(S3Client& client, int fd, uint64_t size, const std::string& key, const std::string& doing,
                      const Deadline& deadline, const TransferProgressFn& progress) {
  const uint64_t part_size = std::max<uint64_t>(client.options().part_size(), (size + kMaxParts - 1) / kMaxParts);
  const size_t parts = static_cast<size_t>((size + part_size - 1) / part_size);
  auto lease = client.connection();

  HttpRequest create;
  create.method = "POST";
  create.url = client.url(key, {{"uploads", ""}});
  create.headers = {"content-type: application/octet-stream"};
  const auto created = client.send(*lease, create, doing + " (CreateMultipartUpload)", deadline);
  if (!created.ok()) client.fail(doing, created, false);
  const auto upload_id = xml_text(created.body, "UploadId");
  if (upload_id.empty()) {
    throw StorageError(fmt::format("{}: the endpoint {} answered CreateMultipartUpload without an UploadId", doing,
                                   client.endpoint()));
  }

  try {
    std::vector<std::string> etags(parts);
    std::atomic<size_t> next_part{0};
    std::atomic<uint64_t> done{0};
    Workers workers(client);
    // Each worker sends parts until none is left: read with pread, digested and sent there.
    const auto send_parts = [&](HttpConnection& connection, const std::atomic<bool>& cancel) {
      std::unique_ptr<char[]> buffer(new char[part_size]);
      for (size_t i; !cancel && (i = next_part++) < parts;) {
        const uint64_t offset = i * part_size;
        const auto length = static_cast<size_t>(std::min(part_size, size - offset));
        const auto part_doing = fmt::format("{} (part {} of {})", doing, i + 1, parts);
        read_exactly(fd, buffer.get(), length, offset, part_doing);
        // The digest here, on the part's own thread: those of the parts in flight overlap.
        const auto digest = md5_digest(buffer.get(), length);
        HttpRequest put;
        put.method = "PUT";
        put.url = client.url(key, {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}});
        put.headers = {"content-md5: " + md5_base64(digest)};
        put.body = buffer.get();
        put.body_size = length;
        const auto response = client.send(connection, put, part_doing, deadline, &cancel,
                                          [&](const HttpResponse& r) { return etag_check(r, digest); });
        if (!response.ok()) client.fail(part_doing, response, false);
        etags[i] = response.etag.empty() ? md5_hex(digest) : response.etag;
        done += length;
        workers.notify();
      }
    };
    workers.start(std::min<size_t>(parts, client.options().concurrency()), send_parts);
    ProgressReport report(progress, size);
    workers.wait([&] { report.update(done); });
    workers.stop();
    workers.rethrow();

    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < parts; ++i) {
      xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>", i + 1, xml_escape(etags[i]));
    }
    xml += "</CompleteMultipartUpload>";
    HttpRequest complete;
    complete.method = "POST";
    complete.url = client.url(key, {{"uploadId", upload_id}});
    complete.headers = {"content-type: application/xml"};
    complete.body = xml.data();
    complete.body_size = xml.size();
    // S3 may answer 200 and put its error in the body, after the headers went out.
    const auto completed = client.send(*lease, complete, doing + " (CompleteMultipartUpload)", deadline, nullptr,
                                       [](const HttpResponse& r) {
                                         if (xml_elements(r.body, "Error").empty()) return std::string();
                                         return "HTTP 200 holding the error " + xml_text(r.body, "Code") + ": " +
                                                xml_text(r.body, "Message");
                                       });
    if (!completed.ok()) client.fail(doing + " (CompleteMultipartUpload)", completed, false);
  } catch (const StorageError& e) {
    throw StorageError(e.what() + abort_upload(client, *lease, key, upload_id));
  }

  // The multipart ETag's form differs between servers (AWS: MD5 of the parts' MD5s; s3rver:
  // another): the size is what is checked.
  const auto stored = s3_head_object(client, *lease, key, doing + " (checking the uploaded size)", deadline);
  if (!stored || stored->size != size) {
    throw StorageError(fmt::format("{}: after the upload the object holds {} bytes, the file {}", doing,
                                   stored ? std::to_string(stored->size) : std::string("nothing"), size));
  }
}

}  // namespace

void s3_download_file(S3Client& client, const std::string& key, const std::string& local_path,
                      const TransferProgressFn& progress) {
  const std::string doing = fmt::format("downloading {} to '{}'", client.uri(key), local_path);
  const auto deadline = Deadline::after(client.options().transfer_deadline());
  auto lease = client.connection();
  const auto info = s3_head_object(client, *lease, key, doing, deadline);
  if (!info) {
    // A HEAD's 404 has no body to tell a missing key from a missing bucket: a GET's has.
    HttpRequest probe;
    probe.url = client.url(key);
    probe.headers = {"range: bytes=0-0"};
    const auto response = client.send(*lease, probe, doing, deadline);
    if (!response.ok()) client.fail(doing, response);
    throw StorageError(doing + ": the object was created while it was looked up; try again");
  }
  const uint64_t size = info->size;
  const uint64_t chunk = static_cast<uint64_t>(client.options().part_size());
  const size_t chunks = static_cast<size_t>((size + chunk - 1) / chunk);
  const auto folder = std::filesystem::path(local_path).parent_path().string();
  Env& env = client.env();
  if (!folder.empty()) {
    std::error_code error;
    env.create_directories(folder, error);
    if (error) throw StorageError(fmt::format("{}: cannot create the folder '{}': {}", doing, folder, error.message()));
  }

  try {
    AtomicFile out(local_path, env, "file");
    // Under workers.mutex(): the next chunk to fetch and to write, the chunks fetched and not
    // yet written (at most `window` ahead of the writer), and buffers to use again.
    size_t next_fetch = 0, next_write = 0;
    std::map<size_t, std::unique_ptr<char[]>> fetched;
    std::vector<std::unique_ptr<char[]>> spare;
    const size_t window = 2 * static_cast<size_t>(client.options().concurrency());
    const auto length_of = [&](size_t i) { return static_cast<size_t>(std::min(chunk, size - i * chunk)); };

    Workers workers(client);
    const auto fetch_chunks = [&](HttpConnection& connection, const std::atomic<bool>& cancel) {
      for (;;) {
        size_t i = 0;
        std::unique_ptr<char[]> buffer;
        {
          std::unique_lock<std::mutex> lock(workers.mutex());
          workers.changed().wait(lock, [&] {
            return cancel || next_fetch >= chunks || next_fetch < next_write + window;
          });
          if (cancel || next_fetch >= chunks) return;
          i = next_fetch++;
          if (!spare.empty()) {
            buffer = std::move(spare.back());
            spare.pop_back();
          }
        }
        if (!buffer) buffer.reset(new char[chunk]);
        const uint64_t offset = i * chunk;
        const size_t length = length_of(i);
        HttpRequest get;
        get.url = client.url(key);
        get.headers = {fmt::format("range: bytes={}-{}", offset, offset + length - 1)};
        get.into = buffer.get();
        get.capacity = length;
        const auto chunk_doing = fmt::format("{} (bytes {} to {})", doing, offset, offset + length);
        const auto response = client.send(connection, get, chunk_doing, deadline, &cancel, [&](const HttpResponse& r) {
          if (r.received == length) return std::string();
          return fmt::format("the answer held {} of the {} bytes asked for", r.received, length);
        });
        if (!response.ok()) client.fail(chunk_doing, response);
        {
          std::lock_guard<std::mutex> lock(workers.mutex());
          fetched[i] = std::move(buffer);
        }
        workers.notify();
      }
    };
    workers.start(std::min<size_t>(chunks, client.options().concurrency()), fetch_chunks);

    // The writer: this thread, in order, as chunks arrive.
    ProgressReport report(progress, size);
    while (next_write < chunks) {
      std::unique_ptr<char[]> buffer;
      {
        std::unique_lock<std::mutex> lock(workers.mutex());
        workers.changed().wait_for(lock, std::chrono::milliseconds(100),
                                   [&] { return fetched.count(next_write) > 0 || workers.failed_locked(); });
        if (workers.failed_locked()) break;
        const auto it = fetched.find(next_write);
        if (it == fetched.end()) continue;
        buffer = std::move(it->second);
        fetched.erase(it);
      }
      // In pieces: one write() of 8 MiB into the page cache was measured 5 to 10 times slower
      // than the same bytes in 256 KiB writes (Linux 6.x, ext4). On failure, ~Workers cancels
      // the fetches.
      const size_t length = length_of(next_write);
      for (size_t at = 0; at < length; at += kWritePiece) {
        out.write(buffer.get() + at, std::min(kWritePiece, length - at));
      }
      {
        std::lock_guard<std::mutex> lock(workers.mutex());
        spare.push_back(std::move(buffer));
        ++next_write;
      }
      workers.notify();
      report.update(std::min<uint64_t>(size, next_write * chunk));
    }
    workers.stop();
    workers.rethrow();
    out.commit();
    report.finish();
  } catch (const CheckpointError& e) {
    throw StorageError(fmt::format("{}: {}", doing, e.what()));
  }
}

}  // namespace tempo
