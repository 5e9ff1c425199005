// The S3 backend (storage/s3_object_store.h) against real servers, s3rver and moto
// (tests/support/s3_server.h), each case on both where both can show it: round trips of small
// and multipart objects, listing across pages, stat and delete, the errors users meet (a missing
// key, a missing bucket, refused credentials, an endpoint that is down), faults in the middle of
// a transfer (a server killed and restarted, a stopped server, a full disk), and a cross-check
// with an independent client, Debian's boto3. Every fault ends in seconds: short timeouts.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/faulty_io.h"
#include "support/s3_server.h"
#include "support/temp_dir.h"
#include "tempo/errors/error.h"
#include "tempo/storage/s3_client.h"
#include "tempo/storage/s3_object_store.h"
#include "tempo/storage/s3_text.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(generator());
  return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<ObjectStore> store_on(const S3Server& server, const ObjectStoreOptions& options, int page = 1000) {
  return make_s3_object_store(server.bucket(), options, server.settings(), page);
}

// The message of the `Error` that `action` throws, or "no error"; how long it took in `seconds`.
template <typename Error>
std::string error_of(const std::function<void()>& action, double* seconds = nullptr) {
  const auto start = std::chrono::steady_clock::now();
  std::string message = "no error";
  try {
    action();
  } catch (const Error& e) {
    message = e.what();
  }
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return message;
}

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) names.push_back(entry.path().filename());
  return names;
}

// Debian's boto3 (/usr/bin/python3, python3-boto3): a client that shares no code with tempo.
bool skip_without_boto3() {
  static const bool has = std::system("/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1") == 0;
  if (has) return false;
  if (s3_required()) {
    FAIL_CHECK("/usr/bin/python3 cannot import boto3, and TEMPO_REQUIRE_S3=1: scripts/install_deps.sh --tests "
               "installs python3-boto3");
  } else {
    MESSAGE("skipped: /usr/bin/python3 cannot import boto3");
  }
  return true;
}

// Runs boto3 `code` with `s3` a client of `server`, `bucket` its bucket, and `args` after them
// in sys.argv; returns what it printed.
std::string boto3(const S3Server& server, const TempDir& dir, const std::string& code, const std::string& args = "") {
  const auto [rc, output] = run_python_code(
      "/usr/bin/python3", dir.path(), "boto3_check",
      "import boto3, hashlib, sys\n"
      "from boto3.s3.transfer import TransferConfig\n"
      "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n"
      "                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n"
      "bucket = sys.argv[4]\n" + code,
      server.endpoint() + " " + server.access_key_id() + " " + server.secret_access_key() + " " + server.bucket() +
          " " + args);
  REQUIRE_MESSAGE(rc == 0, output);
  return output;
}

// Runs `check` against a fresh server of each kind (skipped where one is not installed).
void on_both_servers(const std::function<void(S3Server&, const TempDir&)>& check) {
  for (const auto kind : {S3ServerKind::s3rver, S3ServerKind::moto}) {
    const std::string server_kind = to_string(kind);
    CAPTURE(server_kind);
    S3Server server(kind);
    if (!server.started()) continue;
    TempDir dir;
    check(server, dir);
  }
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("S3: small and multipart objects round-trip byte for byte, odd keys included; list, stat, remove") {
    on_both_servers([](S3Server& server, const TempDir& dir) {
      auto store = store_on(server, server.options(), /*page=*/2);

      // 20 MB in 5 MiB parts: four parts in flight, the last one short.
      const auto big = random_bytes(20'000'000, 1);
      write_file(dir / "big.bin", big);
      std::vector<std::pair<uint64_t, uint64_t>> calls;
      bool on_caller = true;
      const auto caller = std::this_thread::get_id();
      store->upload(dir / "big.bin", "run/checkpoints/ep1.pt", [&](uint64_t done, uint64_t total) {
        calls.emplace_back(done, total);
        on_caller = on_caller && std::this_thread::get_id() == caller;
      });
      CHECK(on_caller);
      REQUIRE(!calls.empty());
      CHECK(calls.back() == std::make_pair(uint64_t{20'000'000}, uint64_t{20'000'000}));
      for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first > calls[i - 1].first);

      calls.clear();
      store->download("run/checkpoints/ep1.pt", dir / "back/big.bin",
                      [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
      CHECK(read_file(dir / "back/big.bin") == big);
      CHECK(names_in(dir / "back") == std::vector<std::string>{"big.bin"});
      REQUIRE(!calls.empty());
      CHECK(calls.back() == std::make_pair(uint64_t{20'000'000}, uint64_t{20'000'000}));

      // A small file goes up in one PUT; an empty one too; keys with characters URIs encode.
      const std::string odd_key = "run/odd keys/a+b=c&d%e ü~(1).bin";
      write_file(dir / "small.bin", "hello S3");
      store->upload(dir / "small.bin", odd_key);
      write_file(dir / "empty.bin", "");
      store->upload(dir / "empty.bin", "run/empty.bin");
      store->download(odd_key, dir / "small.back");
      CHECK(read_file(dir / "small.back") == "hello S3");
      store->download("run/empty.bin", dir / "empty.back");
      CHECK(std::filesystem::file_size(dir / "empty.back") == 0);

      store->put("run/latest.symlink", "checkpoints/ep1.pt");
      CHECK(store->get("run/latest.symlink") == "checkpoints/ep1.pt");
      store->put("run/latest.symlink", "checkpoints/ep2.pt");  // replaced
      CHECK(store->get("run/latest.symlink") == "checkpoints/ep2.pt");
      store->put("other/file", "x");

      // Four keys under run/, listed two per page: continuation tokens, key order, sizes.
      const auto listed = store->list("run/");
      std::vector<std::string> keys;
      for (const auto& info : listed) keys.push_back(info.key);
      CHECK(keys == std::vector<std::string>{"run/checkpoints/ep1.pt", "run/empty.bin", "run/latest.symlink",
                                             odd_key});
      REQUIRE(listed.size() == 4);
      CHECK(listed[0].size == 20'000'000);
      CHECK(listed[1].size == 0);
      CHECK(listed[3].size == 8);
      CHECK(listed[3].etag == md5_hex(md5_digest("hello S3", 8)));
      CHECK(listed[0].last_modified > 1'600'000'000);
      CHECK(store->list("run/none").empty());
      CHECK(store->list("").size() == 5);

      const auto info = store->stat("run/checkpoints/ep1.pt");
      REQUIRE(info.has_value());
      CHECK(info->size == 20'000'000);
      CHECK(!info->etag.empty());
      CHECK(!store->stat("run/nothing").has_value());

      store->remove("run/checkpoints/ep1.pt");
      CHECK(!store->stat("run/checkpoints/ep1.pt").has_value());
      store->remove("run/checkpoints/ep1.pt");  // gone already: not an error
      CHECK(store->list("run/").size() == 3);
      CHECK(store->uri("a/b") == "s3://tempo-test/a/b");
    });
  }

  TEST_CASE("S3: a missing key, a missing bucket and refused credentials are one-line errors naming what to fix") {
    on_both_servers([](S3Server& server, const TempDir& dir) {
      auto store = store_on(server, server.options());

      auto message = error_of<ObjectNotFoundError>([&] { store->get("no/such/key"); });
      CHECK(message.find("s3://tempo-test/no/such/key") != std::string::npos);
      message = error_of<ObjectNotFoundError>([&] { store->download("no/such/key", dir / "out.bin"); });
      CHECK(message.find("s3://tempo-test/no/such/key") != std::string::npos);
      CHECK(names_in(dir.path()).empty());

      // A bucket that does not exist: named, with the endpoint, for reads and writes alike.
      auto missing = make_s3_object_store("no-such-bucket", server.options(), server.settings());
      for (const auto& action : std::vector<std::function<void()>>{
               [&] { missing->put("k", "v"); }, [&] { missing->list(""); },
               [&] { missing->download("k", dir / "out.bin"); }}) {
        message = error_of<StorageError>(action);
        CHECK(message.find("the bucket 'no-such-bucket' does not exist at the endpoint " + server.endpoint()) !=
              std::string::npos);
      }
      CHECK(names_in(dir.path()).empty());

      // s3rver checks that the key id exists; moto checks the signature, so a wrong secret.
      auto settings = server.settings();
      auto& wrong = server.kind() == S3ServerKind::s3rver ? settings.access_key_id : settings.secret_access_key;
      wrong = std::string("WRONG-") + server.name();
      auto refused = make_s3_object_store(server.bucket(), server.options(), settings);
      const char* code = server.kind() == S3ServerKind::s3rver ? "InvalidAccessKeyId" : "SignatureDoesNotMatch";
      for (const auto& action : std::vector<std::function<void()>>{[&] { refused->put("k", "v"); },
                                                                   [&] { refused->list(""); }}) {
        message = error_of<StorageError>(action);
        CAPTURE(message);
        CHECK(message.find("HTTP 403 " + std::string(code)) != std::string::npos);
        CHECK(message.find(server.endpoint()) != std::string::npos);
        CHECK(message.find("'tempo-test'") != std::string::npos);
        CHECK(message.find("check the credentials") != std::string::npos);
        CHECK(message.find("WRONG") == std::string::npos);  // never a secret (nor a key id)
      }
    });
  }

  TEST_CASE("S3: what tempo uploads, boto3 lists and reads back; what boto3 uploads in parts, tempo downloads") {
    on_both_servers([](S3Server& server, const TempDir& dir) {
      if (skip_without_boto3()) return;
      auto store = store_on(server, server.options());
      const auto big = random_bytes(12'000'000, 2);
      write_file(dir / "big.bin", big);
      store->upload(dir / "big.bin", "from-tempo/big.bin");
      store->put("from-tempo/small.txt", "small");
      const auto listing = boto3(server, dir,
                                 "for o in s3.list_objects_v2(Bucket=bucket, Prefix='from-tempo/')['Contents']:\n"
                                 "    body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()\n"
                                 "    print(o['Key'], o['Size'], hashlib.md5(body).hexdigest())\n");
      CHECK(listing == "from-tempo/big.bin 12000000 " + md5_hex(md5_digest(big.data(), big.size())) +
                           "\nfrom-tempo/small.txt 5 " + md5_hex(md5_digest("small", 5)) + "\n");

      const auto theirs = random_bytes(11'000'000, 3);
      write_file(dir / "theirs.bin", theirs);
      boto3(server, dir,
            "config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)\n"
            "with open(sys.argv[5], 'rb') as f:\n"
            "    s3.upload_fileobj(f, bucket, 'from-boto3/theirs.bin', Config=config)\n",
            dir / "theirs.bin");
      store->download("from-boto3/theirs.bin", dir / "theirs.back");
      CHECK(read_file(dir / "theirs.back") == theirs);
    });
  }

  TEST_CASE("S3: an endpoint nobody listens on fails within seconds, naming it, the cause and the attempts") {
    const int port = free_port();
    const auto endpoint = "http://127.0.0.1:" + std::to_string(port);
    S3Settings settings;
    settings.endpoint = endpoint;
    settings.custom_endpoint = true;
    settings.region = "us-east-1";
    settings.access_key_id = settings.secret_access_key = "x";
    auto store = make_s3_object_store("bucket", ObjectStoreOptions().connect_timeout(1).num_attempts(3), settings);
    double seconds = 0;
    const auto message = error_of<StorageError>([&] { store->put("k", "v"); }, &seconds);
    CAPTURE(message);
    CHECK(message.find("s3://bucket/k") != std::string::npos);
    CHECK(message.find("no answer from the endpoint " + endpoint) != std::string::npos);
    CHECK(message.find("gave up after 3 attempts") != std::string::npos);
    CHECK(seconds >= 1.4);  // backoff 0.5 s + 1 s
    CHECK(seconds < 10);
  }

  TEST_CASE("S3: a server killed during a multipart upload; restarted in time the upload succeeds, else no object") {
    S3Server server(S3ServerKind::s3rver);
    if (!server.started()) return;
    TempDir dir;
    const auto bytes = random_bytes(30'000'000, 4);
    write_file(dir / "big.bin", bytes);

    SUBCASE("restarted within the retries: the upload completes and the object is whole") {
      auto store = store_on(server, server.options().num_attempts(5).concurrency(2));
      bool killed = false;
      store->upload(dir / "big.bin", "killed/ok.bin", [&](uint64_t done, uint64_t total) {
        if (killed || done == total) return;
        killed = true;
        server.kill();  // parts in flight fail: reset connections, then refused ones
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server.restart();
      });
      CHECK(killed);
      store->download("killed/ok.bin", dir / "ok.back");
      CHECK(read_file(dir / "ok.back") == bytes);
    }
    SUBCASE("down past the retries: a clear error, and no object at the key") {
      auto store = store_on(server, server.options().num_attempts(2).concurrency(2));
      double seconds = 0;
      const auto message = error_of<StorageError>(
          [&] {
            store->upload(dir / "big.bin", "killed/lost.bin", [&](uint64_t done, uint64_t total) {
              if (done < total && server.pid() > 0) server.kill();
            });
          },
          &seconds);
      CAPTURE(message);
      CHECK(message.find("uploading '" + dir / "big.bin" + "' to s3://tempo-test/killed/lost.bin (part ") !=
            std::string::npos);
      CHECK(message.find("no answer from the endpoint " + server.endpoint()) != std::string::npos);
      CHECK(message.find("gave up after 2 attempts") != std::string::npos);
      CHECK(message.find("AbortMultipartUpload failed too") != std::string::npos);  // it met the dead server too
      CHECK(seconds < 20);
      server.restart();
      CHECK(!store->stat("killed/lost.bin").has_value());
      CHECK(store->list("killed/").empty());
    }
  }

  TEST_CASE("S3: a stopped server (SIGSTOP) is abandoned after stall_timeout, within bounded time") {
    S3Server server(S3ServerKind::s3rver);
    if (!server.started()) return;
    TempDir dir;
    auto store = store_on(server, server.options().stall_timeout(1).num_attempts(2));
    store->put("before", "x");
    write_file(dir / "file.bin", random_bytes(1'000'000, 5));
    server.pause();
    double seconds = 0;
    auto message = error_of<StorageError>([&] { store->upload(dir / "file.bin", "stalled.bin"); }, &seconds);
    CAPTURE(message);
    CHECK(message.find("s3://tempo-test/stalled.bin") != std::string::npos);
    CHECK(message.find(server.endpoint()) != std::string::npos);
    CHECK(message.find("gave up after 2 attempts") != std::string::npos);
    CHECK(seconds < 10);
    message = error_of<StorageError>([&] { store->download("before", dir / "before.back"); }, &seconds);
    CHECK(message.find("s3://tempo-test/before") != std::string::npos);
    CHECK(seconds < 10);
    // transfer_deadline bounds a transfer whatever the stall timeout and the tries left.
    auto bounded = store_on(server, server.options().stall_timeout(30).num_attempts(5).transfer_deadline(1.5));
    message = error_of<StorageError>([&] { bounded->upload(dir / "file.bin", "stalled.bin"); }, &seconds);
    CHECK(message.find("did not finish within transfer_deadline (1.5 s)") != std::string::npos);
    CHECK(seconds < 5);
    server.resume();
    CHECK(store->get("before") == "x");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"file.bin"});
  }

  TEST_CASE("S3: one store serves several threads at once") {
    S3Server server(S3ServerKind::moto);  // the one that checks each request's signature
    if (!server.started()) return;
    auto store = store_on(server, server.options());
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) {
          const auto key = "threads/" + std::to_string(t) + "/" + std::to_string(i);
          const auto bytes = random_bytes(1000 + 97 * i, static_cast<uint32_t>(10 * t + i));
          try {
            store->put(key, bytes);
            if (store->get(key) != bytes) ++wrong;
          } catch (const StorageError&) {
            ++wrong;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
    CHECK(store->list("threads/").size() == 20);
  }

  TEST_CASE("S3: a full disk during a download names the file and the OS error, and leaves nothing behind") {
    S3Server server(S3ServerKind::s3rver);
    if (!server.started()) return;
    TempDir dir;
    auto store = store_on(server, server.options());
    write_file(dir / "big.bin", random_bytes(16'000'000, 6));
    store->upload(dir / "big.bin", "full/big.bin");
    std::filesystem::create_directories(dir / "down");
    for (const size_t skip : {size_t{0}, size_t{7'000'000}}) {
      CAPTURE(skip);
      FaultyIo full(FaultyIo::Call::write, ENOSPC, skip);
      auto on_full_disk = store_on(server, server.options().env(&full));
      const auto message =
          error_of<StorageError>([&] { on_full_disk->download("full/big.bin", dir / "down/big.bin"); });
      CAPTURE(message);
      CHECK(message.find("s3://tempo-test/full/big.bin") != std::string::npos);
      CHECK(message.find("'" + dir / "down/big.bin" + "'") != std::string::npos);
      CHECK(message.find(std::strerror(ENOSPC)) != std::string::npos);
      CHECK(full.failures() >= 1);
      CHECK(names_in(dir / "down").empty());
    }
  }
}
