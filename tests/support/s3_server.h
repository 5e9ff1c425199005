// A real S3 server for tests, on a free port of 127.0.0.1 with a folder of its own, stopped (with
// SIGKILL to its process group) when the object goes: no mock. Two servers speak S3 differently
// enough to be worth both:
//   S3ServerKind::s3rver  s3rver 3.7.1 (node; scripts/test.sh installs it under the build
//       folder, TEMPO_S3RVER names it). Keys S3RVER/S3RVER; it checks that the access key id
//       exists (InvalidAccessKeyId, 403) but not SigV4 signatures; it keeps objects and unfinished
//       multipart uploads on disk, so restart() finds them again. No AbortMultipartUpload (405).
//   S3ServerKind::moto    moto's server (moto[server] in .venv, run by tests/support/python.h's
//       kPython) with IAM authentication on: it checks every request's SigV4 signature
//       (SignatureDoesNotMatch, 403) against a user and key made at start. It keeps everything in
//       memory: restart() makes a new user, key and bucket (read access_key_id() again).
//
// Use:
//   S3Server server(S3ServerKind::s3rver);
//   if (!server.started()) return;  // not installed: skipped with a message, or a failure under
//                                   // TEMPO_REQUIRE_S3=1 (scripts/test.sh sets it)
//   auto store = make_s3_object_store(server.bucket(), server.options(), server.settings());
//                                     // (the overload of tempo/storage/s3_client.h: no variables read)
// or, for code that reads the process's variables (make_object_store("s3://...")):
//   S3Environment variables(server);  // AWS_ACCESS_KEY_ID, ..., S3_ENDPOINT_URL until it goes
//
// server.options() has short timeouts (connect 2 s, stall 2 s, 3 attempts, 60 s deadline, 5 MiB
// parts) so that a fault ends a test in seconds. Faults: kill() (SIGKILL), restart() (same port
// and folder), pause() / resume() (SIGSTOP / SIGCONT: a server that accepts connections and never
// answers). The server dies with the test process too (PR_SET_PDEATHSIG), so none is orphaned.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/python.h"
#include "support/temp_dir.h"
#include "tempo/storage/object_store_options.h"
#include "tempo/storage/s3_credentials.h"

#ifndef TEMPO_S3RVER
#define TEMPO_S3RVER ""
#endif

namespace tempo::testing {

enum class S3ServerKind { s3rver, moto };

inline const char* to_string(S3ServerKind kind) { return kind == S3ServerKind::s3rver ? "s3rver" : "moto"; }

// A free TCP port of 127.0.0.1 (the kernel's pick; free when this returns, so rarely taken by the
// time the server binds it).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// The status of an unsigned `GET /` to 127.0.0.1:`port`, or -1 when nothing answers within a second.
inline int http_status(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  int status = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char reply[64] = {};
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()) &&
        ::recv(fd, reply, sizeof(reply) - 1, 0) > 12 && std::string(reply, 5) == "HTTP/") {
      status = std::atoi(reply + 9);
    }
  }
  ::close(fd);
  return status;
}

// Writes `code` to <folder>/<name>.py, runs it with `python` and `args`; its exit status and
// everything it printed.
inline std::pair<int, std::string> run_python_code(const std::string& python, const std::string& folder,
                                                   const std::string& name, const std::string& code,
                                                   const std::string& args) {
  const std::string script = folder + "/" + name + ".py", log = folder + "/" + name + ".out";
  std::ofstream(script) << code;
  const int rc = std::system((python + " " + script + " " + args + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  return {rc, std::string(std::istreambuf_iterator<char>(in), {})};
}

inline bool s3_required() {
  const char* required = std::getenv("TEMPO_REQUIRE_S3");
  return required != nullptr && std::string(required) == "1";
}

class S3Server {
 public:
  explicit S3Server(S3ServerKind kind = S3ServerKind::s3rver, std::string bucket = "tempo-test")
      : kind_(kind), bucket_(std::move(bucket)), port_(free_port()) {
    const std::string missing = why_missing();
    if (!missing.empty()) {
      if (s3_required()) {
        FAIL_CHECK(missing << ", and TEMPO_REQUIRE_S3=1: scripts/test.sh installs it");
      } else {
        MESSAGE("skipped: " << missing);
      }
      return;
    }
    start();
  }
  ~S3Server() { stop(); }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  bool started() const { return pid_ > 0; }
  S3ServerKind kind() const { return kind_; }
  const char* name() const { return to_string(kind_); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& bucket() const { return bucket_; }
  const std::string& access_key_id() const { return key_id_; }
  const std::string& secret_access_key() const { return secret_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Its data folder (s3rver's objects lie below it).
  std::string folder() const { return data_.path(); }

  // What resolve_s3_settings would give with this server's variables set.
  S3Settings settings() const {
    S3Settings settings;
    settings.endpoint = endpoint();
    settings.custom_endpoint = true;
    settings.region = "us-east-1";
    settings.access_key_id = key_id_;
    settings.secret_access_key = secret_;
    settings.credentials_source = "the test's S3Server";
    return settings;
  }
  // Options for tests: this endpoint, timeouts that end a fault in seconds, 5 MiB parts.
  ObjectStoreOptions options() const {
    return ObjectStoreOptions()
        .endpoint_url(endpoint())
        .region("us-east-1")
        .connect_timeout(2)
        .stall_timeout(2)
        .num_attempts(3)
        .transfer_deadline(60)
        .part_size(5 << 20)
        .multipart_threshold(5 << 20)
        .concurrency(4);
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  void restart() {
    kill();
    start();
  }
  void pause() {
    if (pid_ > 0) ::kill(-pid_, SIGSTOP);
  }
  void resume() {
    if (pid_ > 0) ::kill(-pid_, SIGCONT);
  }

 private:
  std::string why_missing() const {
    if (kind_ == S3ServerKind::s3rver) {
      const std::string program = TEMPO_S3RVER;
      const bool installed = !program.empty() && ::access(program.c_str(), X_OK) == 0;
      return installed ? "" : "s3rver is not installed at '" + program + "'";
    }
    static const bool has_moto = std::system((kPython + " -c 'import moto.server' >/dev/null 2>&1").c_str()) == 0;
    return has_moto ? "" : kPython + " cannot import moto.server";
  }

  void start() {
    const std::string port = std::to_string(port_);
    const std::string log = data_ / "server.log";
    std::vector<std::string> args, environment;
    if (kind_ == S3ServerKind::s3rver) {
      args = {TEMPO_S3RVER, "-d", data_ / "data", "-a", "127.0.0.1", "-p", port, "--configure-bucket", bucket_,
              "--silent"};
      key_id_ = secret_ = "S3RVER";
      // s3rver's ListObjectsV2 continuation tokens are DES-encrypted, a cipher OpenSSL 3 keeps in
      // its legacy provider: without it every truncated listing is a 500.
      environment.push_back("NODE_OPTIONS=--openssl-legacy-provider");
    } else {
      args = {kPython, "-m", "moto.server", "-H", "127.0.0.1", "-p", port};
      // The first four requests (the readiness probe and the IAM setup below) go unchecked; every
      // later one is authenticated.
      environment.push_back("INITIAL_NO_AUTH_ACTION_COUNT=4");
    }
    for (char** variable = environ; *variable != nullptr; ++variable) environment.emplace_back(*variable);
    std::vector<char*> argv, envp;
    for (auto& arg : args) argv.push_back(arg.data());
    for (auto& variable : environment) envp.push_back(variable.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    // Up in a few seconds (moto imports Flask first); a loaded machine gets 20.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (http_status(port_) < 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > give_up) {
        const int died = pid_;
        kill();
        FAIL(name() << " (pid " << died << ") did not answer on port " << port_ << ": " << read_file(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (kind_ == S3ServerKind::moto) make_moto_user();
  }

  // An IAM user allowed everything, its key, and the bucket, made with moto's own boto3.
  void make_moto_user() {
    const auto [rc, output] = run_python_code(
        kPython, data_.path(), "setup",
        "import boto3, json, sys\n"
        "url = sys.argv[1]\n"
        "iam = boto3.client('iam', endpoint_url=url, region_name='us-east-1',\n"
        "                   aws_access_key_id='setup', aws_secret_access_key='setup')\n"
        "iam.create_user(UserName='tempo')\n"
        "iam.put_user_policy(UserName='tempo', PolicyName='all', PolicyDocument=json.dumps(\n"
        "    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n"
        "key = iam.create_access_key(UserName='tempo')['AccessKey']\n"
        "s3 = boto3.client('s3', endpoint_url=url, region_name='us-east-1',\n"
        "                  aws_access_key_id=key['AccessKeyId'], aws_secret_access_key=key['SecretAccessKey'])\n"
        "s3.create_bucket(Bucket=sys.argv[2])\n"
        "print(key['AccessKeyId'], key['SecretAccessKey'])\n",
        endpoint() + " " + bucket_);
    std::istringstream keys(output);
    keys >> key_id_ >> secret_;
    if (rc != 0 || secret_.empty()) {
      kill();
      FAIL("making moto's user and bucket failed: " << output);
    }
  }

  void stop() {
    kill();
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  S3ServerKind kind_;
  std::string bucket_;
  int port_;
  TempDir data_;
  pid_t pid_ = 0;
  std::string key_id_, secret_;
};

// Sets the variables resolve_s3_settings reads so that they name `server` (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, S3_ENDPOINT_URL, AWS_REGION; AWS_SESSION_TOKEN and AWS_PROFILE unset),
// and puts back what was there when it goes. For code under test that reads the process's
// environment, and for child processes (tempo ranks) that inherit it.
class S3Environment {
 public:
  explicit S3Environment(const S3Server& server) {
    set("AWS_ACCESS_KEY_ID", server.access_key_id());
    set("AWS_SECRET_ACCESS_KEY", server.secret_access_key());
    set("S3_ENDPOINT_URL", server.endpoint());
    set("AWS_REGION", "us-east-1");
    set("AWS_SESSION_TOKEN", std::nullopt);
    set("AWS_PROFILE", std::nullopt);
  }
  ~S3Environment() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }
  S3Environment(const S3Environment&) = delete;
  S3Environment& operator=(const S3Environment&) = delete;

  void set(const std::string& name, const std::optional<std::string>& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace tempo::testing
