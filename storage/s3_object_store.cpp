#include "tempo/storage/s3_object_store.h"

#include <fmt/format.h>

#include <algorithm>

#include "tempo/errors/error.h"
#include "tempo/storage/s3_client.h"
#include "tempo/storage/s3_text.h"
#include "tempo/storage/s3_transfer.h"

namespace tempo {
namespace {

class S3ObjectStore : public ObjectStore {
 public:
  S3ObjectStore(const std::string& bucket, const ObjectStoreOptions& options, const S3Settings& settings,
                int list_page_size)
      : client_(bucket, settings, options, list_page_size) {}

  std::string uri(const std::string& key) const override { return client_.uri(key); }

  void upload(const std::string& local_path, const std::string& key, const TransferProgressFn& progress) override {
    check_key(key);
    s3_upload_file(client_, local_path, key, progress);
  }

  void download(const std::string& key, const std::string& local_path, const TransferProgressFn& progress) override {
    check_key(key);
    s3_download_file(client_, key, local_path, progress);
  }

  void put(const std::string& key, const std::string& bytes) override {
    check_key(key);
    auto lease = client_.connection();
    s3_put_object(client_, *lease, key, bytes.data(), bytes.size(), "writing " + uri(key), deadline());
  }

  std::string get(const std::string& key) override {
    check_key(key);
    const auto doing = "reading " + uri(key);
    HttpRequest get;
    get.url = client_.url(key);
    auto lease = client_.connection();
    auto response = client_.send(*lease, get, doing, deadline(), nullptr, [](const HttpResponse& r) {
      if (r.content_length < 0 || r.body.size() == static_cast<uint64_t>(r.content_length)) return std::string();
      return fmt::format("the answer held {} of its {} bytes", r.body.size(), r.content_length);
    });
    if (!response.ok()) client_.fail(doing, response);
    return std::move(response.body);
  }

  std::vector<ObjectInfo> list(const std::string& prefix) override {
    const auto doing = fmt::format("listing the objects under {}", uri(prefix));
    std::vector<ObjectInfo> found;
    auto lease = client_.connection();
    std::string token;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> query = {
          {"list-type", "2"}, {"max-keys", std::to_string(client_.list_page_size())}};
      if (!prefix.empty()) query.emplace_back("prefix", prefix);
      if (!token.empty()) query.emplace_back("continuation-token", token);
      HttpRequest get;
      get.url = client_.url("", std::move(query));
      const auto response = client_.send(*lease, get, doing, deadline());
      if (!response.ok()) client_.fail(doing, response, false);
      for (const auto contents : xml_elements(response.body, "Contents")) {
        ObjectInfo info;
        info.key = xml_text(contents, "Key");
        info.size = std::strtoull(xml_text(contents, "Size").c_str(), nullptr, 10);
        info.etag = xml_text(contents, "ETag");
        info.etag.erase(std::remove(info.etag.begin(), info.etag.end(), '"'), info.etag.end());
        info.last_modified = parse_iso8601(xml_text(contents, "LastModified"));
        found.push_back(std::move(info));
      }
      token = xml_text(response.body, "IsTruncated") == "true" ? xml_text(response.body, "NextContinuationToken") : "";
      if (token.empty()) break;
    }
    // S3 lists in UTF-8 byte order already; a server that does not must not change ours.
    std::sort(found.begin(), found.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return found;
  }

  std::optional<ObjectInfo> stat(const std::string& key) override {
    check_key(key);
    auto lease = client_.connection();
    return s3_head_object(client_, *lease, key, "looking up " + uri(key), deadline());
  }

  void remove(const std::string& key) override {
    check_key(key);
    const auto doing = "deleting " + uri(key);
    HttpRequest del;
    del.method = "DELETE";
    del.url = client_.url(key);
    auto lease = client_.connection();
    const auto response = client_.send(*lease, del, doing, deadline());
    if (response.ok() || (response.status == 404 && xml_text(response.body, "Code") != "NoSuchBucket")) return;
    client_.fail(doing, response, false);
  }

 private:
  void check_key(const std::string& key) const {
    if (key.empty() || key.front() == '/') throw StorageError(fmt::format("'{}' is not a key of {}", key, uri("")));
  }
  Deadline deadline() const { return Deadline::after(client_.options().transfer_deadline()); }

  S3Client client_;
};

}  // namespace

std::unique_ptr<ObjectStore> make_s3_object_store(const std::string& bucket, const ObjectStoreOptions& options,
                                                  const S3Settings& settings, int list_page_size) {
  check_object_store_options(options);
  return std::make_unique<S3ObjectStore>(bucket, options, settings, list_page_size);
}

std::unique_ptr<ObjectStore> make_s3_object_store(const std::string& bucket, const ObjectStoreOptions& options) {
  return make_s3_object_store(bucket, options, resolve_s3_settings(options, process_environment()));
}

}  // namespace tempo
