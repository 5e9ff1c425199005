// Object stores: tempo's S3 client (storage/s3_object_store.h) against boto3, the client Composer
// uploads with, on a real S3 server on this machine (s3rver 3.7.1, the tests' server), and the
// training-loop stall of a checkpoint saved to s3://bucket/prefix against one saved to a local
// folder.
//
// Transfers: one file of --mb MiB of random bytes, beside s3rver's data folder (same disk). Each
// repetition measures dd's sequential write rate there (bs=8M, oflag=direct: the disk's limit),
// then uploads the file with tempo (make_s3_object_store(...)->upload, timed in-process) and with
// boto3's upload_file (default TransferConfig), then downloads tempo's object with both
// (download / download_file), tempo first in even repetitions and boto3 first in odd ones; the
// objects are deleted at the end of each repetition. boto3 runs in one long-lived child Python
// (Debian's python3-boto3) that times only the transfer call itself; its client is made and has
// connected before any timing. Before each transfer the disk is synced. tempo's download fsyncs
// the file before it returns (storage/object_store.h's contract); download_file does not: the
// time boto3 would need to fsync is measured apart and shown, never subtracted or added to the
// goal rows. CPU seconds of the client (tempo: this process; boto3: its process) and of s3rver
// are measured around each transfer: s3rver is one node process, and a server busy near one
// core for the whole transfer is the bottleneck of both clients.
//
// Save stall: a Trainer (one linear layer of --mb MiB of weights, SGD, so the checkpoint is about
// --mb MiB) trains --saves x --interval batches, saving every --interval batches, once with
// save_folder a local folder and once with save_folder s3://bucket/prefix (written locally, then
// uploaded in the background), in an order flipped every repetition, after one untimed warm-up
// fit. A callback placed before the saver times each checkpoint event of a saved batch: from its
// own BATCH_CHECKPOINT hook to the next event (the saver's work in between). Reported: the summed
// stall per fit, s3 over local; how long fit() waited at its end for the uploads; and the s3 fit's
// time before that wait over the local fit's (training slowed by the uploads beside it: on one
// machine that includes the server's own CPU and disk work, which a remote store would not cost).
//
// --tune P:C,... adds a table of tempo's upload and download rates with part size P MiB and
// concurrency C, beside the defaults, rotated per repetition (informational).
//
//   bench_object_store [--mb 600] [--reps 3] [--dir /tmp] [--s3rver PATH] [--python /usr/bin/python3]
//                      [--interval 10] [--saves 3] [--train 1] [--tune 16:8,16:4] [--server-dir /dev/shm]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_python_side.h"
#include "bench_support.h"
#include "tempo/callbacks/checkpoint_uploader.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/dataset.h"
#include "tempo/errors/error.h"
#include "tempo/state/model.h"
#include "tempo/storage/s3_object_store.h"
#include "tempo/trainer/trainer.h"

namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1 << 20;
constexpr const char* kBucket = "bench";

double cpu_of_self() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

// s3rver on 127.0.0.1 (endpoint()), its objects below `folder`, in a process group of its own that
// dies with this process (PR_SET_PDEATHSIG) and is killed whole by stop() or the destructor.
class S3rver {
 public:
  S3rver(const std::string& program, const std::string& folder) {
    if (::access(program.c_str(), X_OK) != 0) {
      throw std::runtime_error("s3rver is not at '" + program + "' (scripts/test.sh installs it; or --s3rver PATH)");
    }
    port_ = unused_port();
    const std::vector<std::string> args = {program, "-d", folder, "-a", "127.0.0.1", "-p", std::to_string(port_),
                                           "--configure-bucket", kBucket, "--silent"};
    // Its truncated listings use DES, which OpenSSL 3 keeps in the legacy provider.
    std::vector<std::string> environment = {"NODE_OPTIONS=--openssl-legacy-provider"};
    for (char** variable = environ; *variable != nullptr; ++variable) environment.emplace_back(*variable);
    std::vector<char*> argv, envp;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    for (const auto& variable : environment) envp.push_back(const_cast<char*>(variable.c_str()));
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const int log = ::open((folder + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t parent = ::getpid();
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(log);
  }
  ~S3rver() { stop(); }
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Kills the whole group (node and whatever it started) and reaps it.
  void stop() {
    if (pid_ > 0 && ::kill(-pid_, SIGKILL) == 0) ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  // Whether it is still running (it exits at once on a bad port or folder).
  bool running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // CPU seconds the server (node, all its threads) has used.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {  // state is field 3; utime 14, stime 15
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  // A port of 127.0.0.1 the kernel has just handed out, closed again for s3rver to bind.
  static int unused_port() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    ::close(fd);
    if (!bound) throw std::runtime_error("no free port on 127.0.0.1");
    return ntohs(address.sin_port);
  }

  int port_ = 0;
  pid_t pid_ = 0;
};

std::unique_ptr<tempo::ObjectStore> s3_store(int64_t part_mib = 0, int64_t concurrency = 0) {
  auto options = tempo::ObjectStoreOptions();
  if (part_mib > 0) options.part_size(part_mib * static_cast<int64_t>(kMiB));
  if (concurrency > 0) options.concurrency(concurrency);
  return tempo::make_s3_object_store(kBucket, options);
}

// Waits until the server lists the bucket (it made it at start).
void wait_until_ready(S3rver& server) {
  auto store = tempo::make_s3_object_store(kBucket, tempo::ObjectStoreOptions().connect_timeout(1).num_attempts(1));
  const auto give_up = bench::Clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      store->list("");
      return;
    } catch (const tempo::StorageError& e) {
      if (!server.running() || bench::Clock::now() > give_up) {
        throw std::runtime_error(std::string("s3rver did not answer (see its .log): ") + e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void write_random_file(const std::string& path, uint64_t bytes) {
  std::vector<uint64_t> block(kMiB);  // 8 MiB
  uint64_t x = 0x9E3779B97F4A7C15ull;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  for (uint64_t done = 0; fd >= 0 && done < bytes;) {
    for (auto& word : block) {  // xorshift64*
      x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
      word = x * 0x2545F4914F6CDD1Dull;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes - done, block.size() * 8));
    if (::write(fd, block.data(), n) != static_cast<ssize_t>(n)) break;
    done += n;
  }
  const bool ok = fd >= 0 && ::fsync(fd) == 0 && static_cast<uint64_t>(fs::file_size(path)) == bytes;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

// dd's sequential write rate (MB/s, 10^6 bytes) of about `bytes` into `path`, bypassing the cache.
double dd_rate(const std::string& path, uint64_t bytes) {
  const uint64_t count = (bytes + 8 * kMiB - 1) / (8 * kMiB);
  ::sync();
  const auto start = bench::Clock::now();
  const int rc = std::system(("dd if=/dev/zero of='" + path + "' bs=8M count=" + std::to_string(count) +
                              " oflag=direct status=none").c_str());
  const double seconds = bench::seconds_since(start);
  ::unlink(path.c_str());
  if (rc != 0) throw std::runtime_error("dd failed in " + path);
  return static_cast<double>(count * 8 * kMiB) / seconds / 1e6;
}

// boto3's side: "upload FILE KEY" and "download KEY FILE" answer "ok <seconds> <cpu seconds>
// <fsync seconds>", timing the transfer call alone (process_time: every thread of the process).
// BUCKET is defined in a line before it.
constexpr const char* kBoto3Script = R"py(import os, sys, time
def serve(bucket):
    try:
        import boto3
        s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'], region_name='us-east-1')
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except Exception as e:
        print(f"error {type(e).__name__}: {e}", flush=True)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            break
        try:
            cpu, start = time.process_time(), time.perf_counter()
            if command == "upload":
                s3.upload_file(args[0], bucket, args[1])
            else:
                s3.download_file(bucket, args[0], args[1])
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            fsync = 0.0
            if command == "download":
                start = time.perf_counter()
                fd = os.open(args[1], os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
                fsync = time.perf_counter() - start
            print(f"ok {seconds!r} {cpu!r} {fsync!r}", flush=True)
        except Exception as e:
            print(f"error {type(e).__name__}: {e}", flush=True)
serve(BUCKET)
)py";

// One transfer: its rate and the CPU seconds of the client and of the server per second of it.
struct Sample {
  double rate = 0;        // MB/s (10^6 bytes)
  double client_cpu = 0;  // CPU seconds / wall seconds
  double server_cpu = 0;
};

// Times `transfer`, which returns {seconds, client CPU seconds} (NaN seconds: time it here).
Sample measure(S3rver& server, uint64_t bytes, const std::function<std::pair<double, double>()>& transfer) {
  ::sync();
  const double server_before = server.cpu_seconds();
  const auto start = bench::Clock::now();
  auto [seconds, client_cpu] = transfer();
  const double wall = bench::seconds_since(start);
  if (std::isnan(seconds)) seconds = wall;
  return {static_cast<double>(bytes) / seconds / 1e6, client_cpu / seconds,
          (server.cpu_seconds() - server_before) / wall};
}

std::pair<double, double> timed_in_process(const std::function<void()>& work) {
  const double cpu = cpu_of_self();
  const auto start = bench::Clock::now();
  work();
  return {bench::seconds_since(start), cpu_of_self() - cpu};
}

void check_size(const std::string& path, uint64_t bytes) {
  std::error_code error;
  if (fs::file_size(path, error) != bytes) throw std::runtime_error("downloaded " + path + " has the wrong size");
  fs::remove(path, error);
}

using Series = std::map<std::string, std::vector<Sample>>;

std::vector<double> rates(const std::vector<Sample>& samples) {
  std::vector<double> out;
  for (const auto& s : samples) out.push_back(s.rate);
  return out;
}

void print_series(const Series& series, const std::vector<std::string>& order) {
  std::printf("\n  %-30s %10s %19s %12s %12s\n", "MB/s (10^6 bytes)", "median", "min-max", "client CPU", "s3rver CPU");
  for (const auto& name : order) {
    const auto& v = series.at(name);
    std::vector<double> client, server;
    for (const auto& s : v) client.push_back(s.client_cpu), server.push_back(s.server_cpu);
    std::printf("  %-30s %10.1f %9.1f-%-9.1f %11.2fx %11.2fx\n", name.c_str(), bench::median(rates(v)),
                bench::min_of(rates(v)), bench::max_of(rates(v)), bench::median(client), bench::median(server));
  }
  std::printf("  (CPU: CPU seconds per wall second of the transfer, median; 1.00x = one core busy throughout)\n");
}

// One repetition of the transfers: dd, both uploads, both downloads of tempo's object.
void transfer_rep(int rep, S3rver& server, bench::PythonSide& boto3, tempo::ObjectStore& store,
                  const fs::path& work, uint64_t bytes, Series& series) {
  const std::string file = (work / "file.bin").string();
  const std::string down_tempo = (work / "down-tempo.bin").string(), down_boto3 = (work / "down-boto3.bin").string();
  series["dd write"].push_back({dd_rate((work / "dd.bin").string(), bytes), 0, 0});
  double fsync_seconds = 0;
  for (const bool download : {false, true}) {
    for (int k = 0; k < 2; ++k) {
      const bool tempo_turn = (k == 0) == (rep % 2 == 0);
      const std::string what = std::string(tempo_turn ? "tempo " : "boto3 ") + (download ? "download" : "upload");
      const Sample s = measure(server, bytes, [&]() -> std::pair<double, double> {
        if (tempo_turn) {
          return timed_in_process([&] {
            if (download) store.download("up-tempo", down_tempo);
            else store.upload(file, "up-tempo");
          });
        }
        const auto r = boto3.ask(download ? "download up-tempo " + down_boto3 : "upload " + file + " up-boto3");
        fsync_seconds = r.at(2);
        return {r.at(0), r.at(1)};
      });
      series[what].push_back(s);
      if (download) check_size(tempo_turn ? down_tempo : down_boto3, bytes);
    }
  }
  const double boto3_seconds = static_cast<double>(bytes) / 1e6 / series["boto3 download"].back().rate;
  series["boto3 download + its fsync"].push_back({static_cast<double>(bytes) / 1e6 / (boto3_seconds + fsync_seconds), 0, 0});
  for (const char* key : {"up-tempo", "up-boto3"}) store.remove(key);
  const auto last = [&](const char* name) { return series[name].back().rate; };
  std::printf("rep %d: dd %.0f | upload tempo %.0f boto3 %.0f | download tempo %.0f boto3 %.0f (+fsync %.0f) MB/s\n",
              rep + 1, last("dd write"), last("tempo upload"), last("boto3 upload"), last("tempo download"),
              last("boto3 download"), last("boto3 download + its fsync"));
  std::fflush(stdout);
}

// --tune: tempo's rates with each part size / concurrency, the defaults first, rotated per rep.
void tune(const std::string& list, int reps, S3rver& server, const fs::path& work, uint64_t bytes) {
  std::vector<std::pair<int64_t, int64_t>> settings = {{tempo::ObjectStoreOptions().part_size() / kMiB,
                                                        tempo::ObjectStoreOptions().concurrency()}};
  std::istringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    settings.emplace_back(std::stoll(item), std::stoll(item.substr(item.find(':') + 1)));
  }
  const std::string file = (work / "file.bin").string(), down = (work / "down-tune.bin").string();
  std::vector<std::vector<double>> up(settings.size()), dn(settings.size());
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t j = 0; j < settings.size(); ++j) {
      const size_t which = (j + static_cast<size_t>(rep)) % settings.size();
      auto store = s3_store(settings[which].first, settings[which].second);
      up[which].push_back(measure(server, bytes, [&] { return timed_in_process([&] { store->upload(file, "tune"); }); }).rate);
      dn[which].push_back(measure(server, bytes, [&] { return timed_in_process([&] { store->download("tune", down); }); }).rate);
      check_size(down, bytes);
      store->remove("tune");
    }
  }
  std::printf("\n  tuning (tempo only)   upload MB/s   vs default   download MB/s   vs default\n");
  for (size_t j = 0; j < settings.size(); ++j) {
    std::printf("  part %3lld MiB x %2lld %12.1f %11.2f %15.1f %12.2f%s\n", static_cast<long long>(settings[j].first),
                static_cast<long long>(settings[j].second), bench::median(up[j]),
                bench::median(bench::ratios(up[j], up[0])), bench::median(dn[j]),
                bench::median(bench::ratios(dn[j], dn[0])), j == 0 ? "   (the defaults)" : "");
  }
}

// A linear layer of `weights` as its only parameter: [B, 1024] -> [B, 2] logits (the mean of
// each half of its outputs), so each batch reads and changes every weight.
class BigNet : public tempo::Model {
 public:
  explicit BigNet(const torch::Tensor& weights) : weight_(register_parameter("weight", weights.clone())) {}
  torch::Tensor forward(const torch::Tensor& x) override { return x.mm(weight_.t()).view({x.size(0), 2, -1}).mean(2); }

 private:
  torch::Tensor weight_;
};

// Times the checkpoint events of saved batches (placed before the saver: the user's callbacks
// come first) and notes when FIT_END began.
class StallClock : public tempo::Callback {
 public:
  explicit StallClock(int64_t interval) : interval_(interval) {}
  const tempo::CheckpointSaver* saver = nullptr;
  std::vector<double> stalls;          // per saved batch
  std::vector<int64_t> in_flight;      // uploads not yet done when that save began (s3 only)
  bench::Clock::time_point fit_end;

 protected:
  void on_event(tempo::Event event, tempo::State& state, tempo::Logger&) override {
    const auto now = bench::Clock::now();
    if (open_) stalls.push_back(std::chrono::duration<double>(now - since_).count());
    open_ = false;
    if (event == tempo::Event::BATCH_CHECKPOINT && state.timestamp.batch() % interval_ == 0) {
      open_ = true;
      since_ = now;
      const auto* uploader = saver ? saver->uploader() : nullptr;
      if (uploader) in_flight.push_back(static_cast<int64_t>(stalls.size()) - static_cast<int64_t>(uploader->uploaded().size()));
    }
    if (event == tempo::Event::FIT_END) fit_end = now;
  }

 private:
  int64_t interval_;
  bool open_ = false;
  bench::Clock::time_point since_;
};

struct FitTimes {
  double stall = 0, fit = 0, end_wait = 0;
  std::string detail;
};

FitTimes fit_once(const std::string& save_folder, const torch::Tensor& weights,
                  const std::shared_ptr<tempo::TensorDataset>& data, int64_t interval, int64_t saves) {
  auto clock = std::make_shared<StallClock>(interval);
  auto model = std::make_shared<BigNet>(weights);
  auto loader = std::make_shared<tempo::DataLoader>(data, tempo::DataLoaderOptions().batch_size(8).shuffle(true));
  tempo::Trainer trainer(tempo::TrainerOptions()
                             .model(model)
                             .train_dataloader(loader)
                             .optimizers({std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(1e-4))})
                             .max_duration(tempo::Time(interval * saves, tempo::TimeUnit::BATCH))
                             .save_folder(save_folder)
                             .save_interval(tempo::Time(interval, tempo::TimeUnit::BATCH))
                             .callbacks({clock})
                             .seed(17)
                             .run_name("bench"));
  clock->saver = trainer.checkpoint_saver().get();
  const auto start = bench::Clock::now();
  trainer.fit();
  FitTimes t;
  t.fit = bench::seconds_since(start);
  t.end_wait = std::chrono::duration<double>(bench::Clock::now() - clock->fit_end).count();
  if (static_cast<int64_t>(clock->stalls.size()) != saves) throw std::runtime_error("the fit did not save as planned");
  std::ostringstream detail;
  for (size_t i = 0; i < clock->stalls.size(); ++i) {
    t.stall += clock->stalls[i];
    detail << (i ? " " : "") << std::fixed << std::setprecision(3) << clock->stalls[i];
    if (i < clock->in_flight.size()) detail << " (" << clock->in_flight[i] << " uploading)";
  }
  t.detail = detail.str();
  return t;
}

// The save stall, local folder against s3://, alternating; prints the fits and the RESULT rows.
void save_stalls(int reps, int64_t mb, int64_t interval, int64_t saves, const fs::path& work) {
  torch::manual_seed(17);
  const int64_t rows = mb * static_cast<int64_t>(kMiB) / 4 / 1024;
  const torch::Tensor weights = torch::randn({rows - rows % 2, 1024}).mul_(0.01);
  const int64_t samples = 8 * interval * saves;
  auto data = std::make_shared<tempo::TensorDataset>(torch::randn({samples, 1024}), torch::randint(0, 2, {samples}));
  const std::string local = (work / "local").string(), remote = std::string("s3://") + kBucket + "/remote";
  auto store = s3_store();
  const auto clear = [&] {
    fs::remove_all(work / "local");
    fs::remove_all(work / "remote");
    for (const auto& object : store->list("remote/")) store->remove(object.key);
  };
  fit_once(local, weights, data, interval, 1);  // warm-up, untimed
  clear();
  std::printf("\nsave stall: 1 linear layer of %lld MiB, SGD, batch 8, a save every %lld batches, %lld saves a fit\n",
              static_cast<long long>(mb), static_cast<long long>(interval), static_cast<long long>(saves));
  std::vector<double> local_stall, s3_stall, s3_wait, s3_fit, local_fit;
  for (int rep = 0; rep < reps; ++rep) {
    for (int k = 0; k < 2; ++k) {
      const bool s3 = (k == 0) == (rep % 2 == 1);
      ::sync();
      const FitTimes t = fit_once(s3 ? remote : local, weights, data, interval, saves);
      (s3 ? s3_stall : local_stall).push_back(t.stall);
      (s3 ? s3_fit : local_fit).push_back(t.fit);
      if (s3) s3_wait.push_back(t.end_wait);
      std::printf("rep %d %-5s: stall %.3f s (per save %s), fit %.2f s, end wait %.3f s\n", rep + 1, s3 ? "s3" : "local",
                  t.stall, t.detail.c_str(), t.fit, t.end_wait);
      std::fflush(stdout);
      clear();
    }
  }
  std::printf("  median: stall local %.3f s, s3 %.3f s; fit local %.2f s, s3 %.2f s; s3 end wait %.3f s\n",
              bench::median(local_stall), bench::median(s3_stall), bench::median(local_fit), bench::median(s3_fit),
              bench::median(s3_wait));
  bench::result("object_store", "save stall: s3:// / local folder", bench::ratios(s3_stall, local_stall), "<= 1.1");
  bench::result("object_store", "s3:// fit: end wait for uploads / fit time", bench::ratios(s3_wait, s3_fit), "");
  // Training beside the uploads (and, here, beside the server on the same cores and disk).
  std::vector<double> s3_training;
  for (size_t i = 0; i < s3_fit.size(); ++i) s3_training.push_back(s3_fit[i] - s3_wait[i]);
  bench::result("object_store", "fit time before the end wait: s3:// / local", bench::ratios(s3_training, local_fit), "");
}

std::string default_s3rver() {
  if (const char* path = std::getenv("TEMPO_S3RVER")) return path;
  std::error_code error;
  return (fs::read_symlink("/proc/self/exe", error).parent_path().parent_path() / "s3rver/node_modules/.bin/s3rver")
      .string();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mb = 600, interval = 10, saves = 3;
  int reps = 3;
  bool train = true;
  std::string dir = "/tmp", s3rver = default_s3rver(), python = "/usr/bin/python3", tuning, server_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mb") mb = std::stoll(value);
    else if (flag == "--reps") reps = std::stoi(value);
    else if (flag == "--dir") dir = value;
    else if (flag == "--s3rver") s3rver = value;
    else if (flag == "--server-dir") server_dir = value;
    else if (flag == "--python") python = value;
    else if (flag == "--interval") interval = std::stoll(value);
    else if (flag == "--saves") saves = std::stoll(value);
    else if (flag == "--train") train = value != "0";
    else if (flag == "--tune") tuning = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  const fs::path work = fs::absolute(fs::path(dir) / ("tempo-bench-object-store-" + std::to_string(::getpid())));
  const fs::path home = fs::current_path();
  int status = 0;
  try {
    // s3rver's objects: beside the file (the same disk) unless --server-dir says where.
    const fs::path objects = server_dir.empty() ? work / "s3rver" : fs::absolute(server_dir) / work.filename();
    fs::create_directories(work);
    fs::create_directories(objects);
    S3rver server(s3rver, objects.string());
    // What make_object_store reads (storage/s3_credentials.h), and boto3 too.
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    ::setenv("S3_ENDPOINT_URL", server.endpoint().c_str(), 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    for (const char* name : {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"}) ::unsetenv(name);
    wait_until_ready(server);
    fs::current_path(work);  // an s3:// save folder's local copy lies below the working folder

    const uint64_t bytes = static_cast<uint64_t>(mb) * kMiB;
    write_random_file((work / "file.bin").string(), bytes);
    const auto defaults = tempo::ObjectStoreOptions();
    std::printf("bench_object_store: %.1f MB file in %s, s3rver 3.7.1 on %s, %d reps\n"
                "  tempo: part %lld MiB, concurrency %lld (the defaults); boto3: upload_file / download_file, default "
                "TransferConfig (8 MiB parts, 10 threads), %s\n",
                static_cast<double>(bytes) / 1e6, work.c_str(), server.endpoint().c_str(), reps,
                static_cast<long long>(defaults.part_size() / kMiB), static_cast<long long>(defaults.concurrency()),
                python.c_str());
    std::ofstream(work / "boto3_side.py") << "BUCKET = '" << kBucket << "'\n" << kBoto3Script;
    bench::PythonSide boto3(python, (work / "boto3_side.py").string());
    if (!boto3.ready()) throw std::runtime_error("boto3 side (" + python + "): " + boto3.why_not());
    auto store = s3_store();
    Series series;
    for (int rep = 0; rep < reps; ++rep) transfer_rep(rep, server, boto3, *store, work, bytes, series);
    print_series(series, {"dd write", "tempo upload", "boto3 upload", "tempo download", "boto3 download",
                          "boto3 download + its fsync"});
    const auto r = [&](const char* name) { return rates(series[name]); };
    bench::result("object_store", "upload MB/s: tempo / boto3", bench::ratios(r("tempo upload"), r("boto3 upload")), ">= 1.0");
    bench::result("object_store", "download MB/s: tempo / boto3", bench::ratios(r("tempo download"), r("boto3 download")),
                  ">= 1.0");
    bench::result("object_store", "download MB/s: tempo (fsynced) / boto3 + fsync",
                  bench::ratios(r("tempo download"), r("boto3 download + its fsync")), "");
    bench::result("object_store", "upload MB/s: tempo / dd write", bench::ratios(r("tempo upload"), r("dd write")), "");
    bench::result("object_store", "download MB/s: tempo / dd write", bench::ratios(r("tempo download"), r("dd write")), "");
    // The client's CPU per byte, which a server bottleneck (s3rver here) does not hide.
    const auto cpu = [&](const char* name) {
      std::vector<double> out;
      for (const auto& s : series[name]) out.push_back(s.client_cpu / s.rate);
      return out;
    };
    bench::result("object_store", "upload client CPU per byte: tempo / boto3", bench::ratios(cpu("tempo upload"), cpu("boto3 upload")), "");
    bench::result("object_store", "download client CPU per byte: tempo / boto3",
                  bench::ratios(cpu("tempo download"), cpu("boto3 download")), "");
    if (!tuning.empty()) tune(tuning, reps, server, work, bytes);
    if (train) save_stalls(reps, mb, interval, saves, work);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_object_store: %s\n", e.what());
    status = 1;
  }
  std::error_code error;
  fs::current_path(home, error);
  fs::remove_all(work, error);
  if (!server_dir.empty()) {
    fs::remove_all(fs::absolute(server_dir) / work.filename(), error);
    fs::remove(fs::absolute(server_dir) / (work.filename().string() + ".log"), error);
  }
  return status;
}
