// Checkpoint I/O: tempo's write_checkpoint / read_checkpoint against Python's torch.save /
// torch.load on the same ~600 MB state, shaped like a model plus Adam (weights, exp_avg and
// exp_avg_sq of the same shapes, one step tensor per parameter), with dd's raw write speed as the
// disk's baseline.
//
// Python sees identical tensors: tempo writes the state once, a long-lived Python process
// (benchmarks/checkpoint_io.py serve) torch.load()s that file and re-saves the object itself.
// Interpreter start-up, `import torch` and that first load are outside every timing; Python times
// only its own torch.save + flush + fsync (file and folder) and torch.load.
//
// Each repetition starts with an untimed write (the first write after the loads runs up to 3x
// slower on the VM measured, whichever writer it is), then runs the five writers (tempo's write_checkpoint, Python's torch.save, a
// CheckpointSaver's synchronous save, its save_async save, dd writing as many bytes with
// conv=fsync) in an order rotated by one every repetition, then dd reading tempo's file to
// /dev/null and the two loads (order flipped every repetition). Both loads read the file tempo
// just wrote, with the page cache dropped first where /proc/sys/vm/drop_caches is writable (warm
// cache otherwise; the output says which).
//
// The async save runs as in the trainer: the saver's BATCH_CHECKPOINT event, then the next batch's
// forward and backward (three matrix products per weight, batch 32, through layers made of the
// saved weights: what a ~50M-parameter model's batch costs, reading the parameters and changing
// none), then State::checkpoint_copy.wait() where the trainer would step. Its stall is what the
// training loop waits for: the event plus that wait. Training then goes on, batch after batch,
// until the file is durable ("async total"); "async lost" is the time those batches took beyond
// as many batches alone (the median of three passes alone, just before: the background copy,
// checksum and write compete with training for the cores and memory bandwidth). "full-copy
// stall" is CheckpointSaver::start_save, which copies everything before it returns (the stall
// without the overlap). One untimed async save first
// allocates the staging buffers, as a run's first save does (its stall is printed apart), since
// every later save of a run reuses them.
// Extra peak memory is VmHWM after the call minus VmRSS before it, VmHWM being reset through
// /proc/self/clear_refs right before the call, in each process for its own save and load.
//
//   bench_checkpoint_io [--mb 600] [--reps 3] [--dir /tmp] [--python TEMPO_PYTHON]
//                       [--script benchmarks/checkpoint_io.py]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_python_side.h"
#include "bench_support.h"
#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/logger.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/model.h"
#include "tempo/state/state.h"
#include "tempo/state/torch_compat.h"
#include "tempo/state/tree.h"

#ifndef TEMPO_BENCH_DIR
#define TEMPO_BENCH_DIR "benchmarks"
#endif

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double min_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::max_element(v.begin(), v.end()); }

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), -1 if absent.
int64_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  return -1;
}

bool write_proc(const char* path, const char* text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const auto len = static_cast<ssize_t>(std::strlen(text));
  const bool ok = ::write(fd, text, static_cast<size_t>(len)) == len;
  ::close(fd);
  return ok;
}

bool reset_peak() { return write_proc("/proc/self/clear_refs", "5"); }

// Writes back dirty pages, then drops clean page cache, dentries and inodes.
bool drop_caches() {
  ::sync();
  return write_proc("/proc/sys/vm/drop_caches", "3");
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// Sum of every tensor's elements in float64, in tree order (as checkpoint_io.py's checksum).
double checksum(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor().sum(at::kDouble).item<double>();
  double total = 0;
  if (v.isGenericDict()) {
    for (const auto& entry : v.toGenericDict()) total += checksum(entry.value());
  } else if (v.isList()) {
    for (const auto& item : v.toListRef()) total += checksum(item);
  } else if (v.isTuple()) {
    for (const auto& item : v.toTupleRef().elements()) total += checksum(item);
  }
  return total;
}

// {"state": {"model": {...}, "optimizers": {"Adam": {"state": {i: {step, exp_avg, exp_avg_sq}},
// "param_groups": [...]}}}, "rng": []}: weights of mb/3 MiB over four tensors, Adam's two moments
// of the same shapes, fixed values from a seeded generator.
c10::IValue make_state(int64_t mb) {
  torch::manual_seed(20240607);
  const int64_t group_elements = mb * (1 << 20) / 3 / 4;
  const double shares[] = {0.4, 0.3, 0.2, 0.1};
  const char* names[] = {"encoder.weight", "decoder.weight", "head.weight", "embedding.weight"};
  constexpr int64_t kCols = 1024;
  auto model = tempo::new_tree_dict();
  auto adam_state = tempo::new_int_key_dict();
  c10::List<int64_t> params;
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(shares[i] * static_cast<double>(group_elements)) / kCols);
    auto weight = torch::randn({rows, kCols});
    auto exp_avg = torch::randn({rows, kCols}).mul_(1e-2);
    auto exp_avg_sq = torch::randn({rows, kCols}).square_().mul_(1e-4);
    model.insert(names[i], weight);
    auto s = tempo::new_tree_dict();
    s.insert("step", torch::tensor(1000.0f));
    s.insert("exp_avg", exp_avg);
    s.insert("exp_avg_sq", exp_avg_sq);
    adam_state.insert(i, s);
    params.push_back(i);
  }
  auto group = tempo::new_tree_dict();
  group.insert("lr", 1e-3);
  group.insert("betas", c10::ivalue::Tuple::create({0.9, 0.999}));
  group.insert("eps", 1e-8);
  group.insert("weight_decay", 0.0);
  group.insert("amsgrad", false);
  group.insert("maximize", false);
  group.insert("foreach", c10::IValue());
  group.insert("capturable", false);
  group.insert("params", params);
  c10::impl::GenericList groups(c10::AnyType::get());
  groups.push_back(group);
  auto adam = tempo::new_tree_dict();
  adam.insert("state", adam_state);
  adam.insert("param_groups", groups);
  auto optimizers = tempo::new_tree_dict();
  optimizers.insert("Adam", adam);
  auto state = tempo::new_tree_dict();
  state.insert("model", model);
  state.insert("optimizers", optimizers);
  auto root = tempo::new_tree_dict();
  root.insert("state", state);
  root.insert("rng", c10::impl::GenericList(c10::AnyType::get()));
  return root;
}

// A model whose parameters are the tree's weights (shared, not copied), for a State to save.
class TreeModel : public tempo::Model {
 public:
  explicit TreeModel(const c10::IValue& tree) {
    for (const auto& entry : tree.toGenericDict().at("state").toGenericDict().at("model").toGenericDict()) {
      auto name = entry.key().toStringRef();
      std::replace(name.begin(), name.end(), '.', '_');
      register_parameter(name, entry.value().toTensor(), /*requires_grad=*/false);
    }
  }
  torch::Tensor forward(const torch::Tensor& input) override { return input; }
};

// A State over the same tensors as make_state's tree: the model's weights and Adam's moments
// (an Adam whose per-parameter state is set to the tree's exp_avg, exp_avg_sq and step).
std::unique_ptr<tempo::State> make_training_state(const c10::IValue& tree) {
  auto state = std::make_unique<tempo::State>();
  auto model = std::make_shared<TreeModel>(tree);
  auto adam = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  const auto moments =
      tree.toGenericDict().at("state").toGenericDict().at("optimizers").toGenericDict().at("Adam").toGenericDict().at(
          "state").toGenericDict();
  const auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const auto s = moments.at(static_cast<int64_t>(i)).toGenericDict();
    auto param_state = std::make_unique<torch::optim::AdamParamState>();
    param_state->step(1000);
    param_state->exp_avg(s.at("exp_avg").toTensor());
    param_state->exp_avg_sq(s.at("exp_avg_sq").toTensor());
    adam->state()[tempo::optimizer_state_key(params[i])] = std::move(param_state);
  }
  state->model = model;
  state->optimizers = {adam};
  state->run_name = "bench";
  return state;
}

// The next batch's forward and backward through linear layers made of the state's weights, batch
// 32: y = x W^T, then dW = dy^T x and dx = dy W into buffers of their own. Reads the parameters,
// changes none of them, as a real forward and backward do.
class NextBatch {
 public:
  explicit NextBatch(const tempo::State& state) {
    torch::manual_seed(7);
    for (const auto& w : state.model->parameters()) {
      layers_.push_back({w, torch::randn({kBatch, w.size(1)}), torch::randn({kBatch, w.size(0)}),
                         torch::empty_like(w), torch::empty({kBatch, w.size(1)}), torch::empty({kBatch, w.size(0)})});
    }
  }
  double run() {
    const auto start = Clock::now();
    for (auto& l : layers_) {
      at::mm_out(l.y, l.x, l.w.t());
      at::mm_out(l.dw, l.dy.t(), l.x);
      at::mm_out(l.dx, l.dy, l.w);
    }
    return seconds(start);
  }

 private:
  static constexpr int64_t kBatch = 32;
  struct Layer {
    torch::Tensor w, x, dy, dw, dx, y;
  };
  std::vector<Layer> layers_;
};

struct Series {
  std::vector<double> s;
  void add(double x) { s.push_back(x); }
};

void print_row(const char* name, const std::vector<double>& v, double file_bytes) {
  if (v.empty()) {
    std::printf("  %-14s %9s %9s %9s %9s\n", name, "-", "-", "-", "-");
    return;
  }
  std::printf("  %-14s %9.3f %9.3f %9.3f %9.2f\n", name, median(v), min_of(v), max_of(v), file_bytes / median(v) / 1e9);
}

void print_ratio(const char* name, const std::vector<double>& a, const std::vector<double>& b, const char* goal,
                 double goal_value) {
  if (a.empty() || b.empty()) {
    std::printf("  %-24s %s\n", name, "-");
    return;
  }
  std::vector<double> paired;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) paired.push_back(a[i] / b[i]);
  const double r = median(a) / median(b);
  std::printf("  %-24s %6.2f   (fastest/fastest %.2f, per-rep %.2f .. %.2f)", name, r, min_of(a) / min_of(b),
              min_of(paired), max_of(paired));
  if (goal) std::printf("   goal %s: %s", goal, r <= goal_value ? "met" : "MISSED");
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mb = 600;
  int reps = 3;
  std::string dir = "/tmp";
  std::string python = bench::default_python();
  std::string script = std::string(TEMPO_BENCH_DIR) + "/checkpoint_io.py";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--mb") mb = std::stoll(argv[i + 1]);
    else if (flag == "--reps") reps = std::stoi(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--python") python = argv[i + 1];
    else if (flag == "--script") script = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string prefix = dir + "/bench_ckio_" + std::to_string(::getpid()) + "_";
  const std::string src_path = prefix + "source.pt", tempo_path = prefix + "tempo.pt",
                    py_path = prefix + "python.pt", dd_path = prefix + "dd.bin", saver_path = prefix + "saver.pt";
  auto cleanup = [&] {
    for (const auto& p : {src_path, tempo_path, py_path, dd_path, saver_path}) ::unlink(p.c_str());
  };

  try {
    const auto build_start = Clock::now();
    const c10::IValue tree = make_state(mb);
    const double tree_sum = checksum(tree);
    tempo::write_checkpoint(tree, src_path);
    const double src_bytes = static_cast<double>(file_size(src_path));
    std::printf("bench_checkpoint_io: model + Adam state, 4 params x (weight, exp_avg, exp_avg_sq) float32,\n"
                "  %.1f MiB in tensors, checkpoint file %.1f MB; %d reps; dir %s (built in %.1f s)\n",
                static_cast<double>(mb), src_bytes / 1e6, reps, dir.c_str(), seconds(build_start));

    const bool can_drop = drop_caches();
    const bool can_reset = reset_peak();
    std::printf("page cache: %s\n", can_drop ? "DROPPED before each load (sync; echo 3 > /proc/sys/vm/drop_caches)"
                                              : "NOT dropped (drop_caches not writable): loads read a WARM cache");
    if (!can_reset) std::printf("peak memory: /proc/self/clear_refs not writable, peaks are since process start\n");

    const auto py_start = Clock::now();
    bench::PythonSide py(python, script);
    bool have_python = py.ready();
    if (have_python) {
      const double py_sum = py.ask("source " + src_path).at(0);
      std::printf("python: %s ready, source loaded in %.1f s (untimed); checksums tempo %.6e python %.6e %s\n",
                  python.c_str(), seconds(py_start), tree_sum, py_sum,
                  std::fabs(py_sum - tree_sum) <= 1e-9 * std::max(1.0, std::fabs(tree_sum)) ? "(equal)" : "(DIFFER)");
    } else {
      std::printf("python: %s cannot run the torch side (%s); measuring tempo only\n", python.c_str(),
                  py.why_not().c_str());
    }
    std::fflush(stdout);

    // The trainer's path: a CheckpointSaver saving a State, synchronously and with save_async.
    const auto training_state = make_training_state(tree);
    training_state->max_duration = tempo::Time(1 << 30, tempo::TimeUnit::BATCH);
    const auto saver_options = tempo::CheckpointSaverOptions()
                                   .folder(dir)
                                   .filename(saver_path.substr(dir.size() + 1))
                                   .latest_filename("")
                                   .save_interval(tempo::Time(1, tempo::TimeUnit::BATCH))
                                   .overwrite(true);
    tempo::CheckpointSaver sync_saver(saver_options);
    tempo::CheckpointSaver async_saver(tempo::CheckpointSaverOptions(saver_options).save_async(true));
    tempo::Logger logger;
    NextBatch next_batch(*training_state);
    next_batch.run();  // first products allocate OpenBLAS's buffers
    // The checkpoint event of a new batch (the saver saves each batch once).
    const auto checkpoint_event = [&] {
      training_state->previous_timestamp = training_state->timestamp;
      training_state->timestamp = training_state->timestamp.to_next_batch(1);
      async_saver.run_event(tempo::Event::BATCH_CHECKPOINT, *training_state, logger);
      if (!async_saver.save_in_flight()) throw std::runtime_error("the checkpoint event started no save");
    };
    double first_stall = 0;
    {
      ::unlink(saver_path.c_str());
      ::sync();
      const auto start = Clock::now();
      checkpoint_event();
      training_state->checkpoint_copy.wait();
      first_stall = seconds(start);
      async_saver.wait();
    }

    Series tempo_save, py_save, dd, dd_read, tempo_load, py_load, saver_sync, async_stall, async_total, full_copy_stall;
    Series batch_alone, batch_beside, async_lost;
    Series tempo_save_peak, py_save_peak, tempo_load_peak, py_load_peak;
    bool load_sums_equal = true;
    double py_file_bytes = -1, tempo_file_bytes = -1;
    const int64_t dd_count = static_cast<int64_t>(std::llround(src_bytes / kMiB));
    enum Writer { kTempoSave, kPythonSave, kSaverSync, kSaverAsync, kDd, kWriters };
    for (int rep = 0; rep < reps; ++rep) {
      const bool tempo_first = rep % 2 == 0;
      // Untimed: the first write after the loads runs up to 3x slower here whichever writer it is.
      ::unlink(dd_path.c_str());
      tempo::write_checkpoint(tree, dd_path);
      ::unlink(dd_path.c_str());
      // Every writer starts with a fresh file and nothing pending on the disk.
      for (int slot = 0; slot < kWriters; ++slot) {
        const auto writer = static_cast<Writer>((slot + rep) % kWriters);
        ::sync();
        if (writer == kTempoSave) {
          ::unlink(tempo_path.c_str());
          ::sync();
          const int64_t rss = status_bytes("VmRSS");
          reset_peak();
          const auto start = Clock::now();
          tempo::write_checkpoint(tree, tempo_path);
          tempo_save.add(seconds(start));
          tempo_save_peak.add(static_cast<double>(status_bytes("VmHWM") - rss));
          tempo_file_bytes = static_cast<double>(file_size(tempo_path));
        } else if (writer == kPythonSave && have_python) {
          ::unlink(py_path.c_str());
          ::sync();
          const auto r = py.ask("save " + py_path);
          py_save.add(r.at(0));
          py_save_peak.add(r.at(1));
          py_file_bytes = static_cast<double>(file_size(py_path));
          ::unlink(py_path.c_str());
        } else if (writer == kSaverSync) {
          ::unlink(saver_path.c_str());
          ::sync();
          const auto start = Clock::now();
          sync_saver.save(*training_state);
          saver_sync.add(seconds(start));
          ::unlink(saver_path.c_str());
        } else if (writer == kSaverAsync) {
          batch_alone.add(bench::median({next_batch.run(), next_batch.run(), next_batch.run()}));
          ::unlink(saver_path.c_str());
          ::sync();
          const auto start = Clock::now();
          checkpoint_event();
          const double event = seconds(start);
          const double beside = next_batch.run();
          batch_beside.add(beside);
          const auto fence = Clock::now();
          training_state->checkpoint_copy.wait();
          async_stall.add(event + seconds(fence));
          // Training goes on (a batch, then an event, which takes in a finished save) until the
          // file is durable: the time lost is what those batches took beyond as many batches alone.
          double trained = seconds(start);
          int batches = 1;
          async_saver.run_event(tempo::Event::BATCH_START, *training_state, logger);
          while (async_saver.save_in_flight() && batches < 100) {
            trained += next_batch.run();
            ++batches;
            async_saver.run_event(tempo::Event::BATCH_START, *training_state, logger);
          }
          async_lost.add(trained - batches * batch_alone.s.back());
          async_saver.wait();
          async_total.add(seconds(start));
          if (static_cast<double>(file_size(saver_path)) < src_bytes) {
            throw std::runtime_error("the async save did not write " + saver_path + " in full");
          }
          // Without the overlap: everything copied before the call returns.
          ::unlink(saver_path.c_str());
          ::sync();
          const auto full = Clock::now();
          async_saver.start_save(*training_state);
          full_copy_stall.add(seconds(full));
          async_saver.wait();
          ::unlink(saver_path.c_str());
        } else if (writer == kDd) {
          // The disk's raw sequential write speed, as many MiB as the checkpoint, fsync'ed.
          ::unlink(dd_path.c_str());
          ::sync();
          const std::string cmd = "dd if=/dev/zero of='" + dd_path + "' bs=1M count=" + std::to_string(dd_count) +
                                  " conv=fsync status=none";
          const auto start = Clock::now();
          const int rc = std::system(cmd.c_str());
          dd.add(seconds(start));
          if (rc != 0) std::printf("warning: dd exited with %d\n", rc);
          ::unlink(dd_path.c_str());
        }
      }
      // The disk's raw sequential read speed of the checkpoint file, from the same cache state.
      {
        if (can_drop) drop_caches();
        else ::sync();
        const std::string cmd = "dd if='" + tempo_path + "' of=/dev/null bs=1M status=none";
        const auto start = Clock::now();
        const int rc = std::system(cmd.c_str());
        dd_read.add(seconds(start));
        if (rc != 0) std::printf("warning: dd exited with %d\n", rc);
      }
      // Loads: both read the file tempo just wrote.
      for (int k = 0; k < 2; ++k) {
        const bool do_tempo = (k == 0) == tempo_first;
        if (!do_tempo && !have_python) continue;
        if (can_drop) drop_caches();
        else ::sync();
        if (do_tempo) {
          const int64_t rss = status_bytes("VmRSS");
          reset_peak();
          const auto start = Clock::now();
          c10::IValue loaded = tempo::read_checkpoint(tempo_path);
          tempo_load.add(seconds(start));
          tempo_load_peak.add(static_cast<double>(status_bytes("VmHWM") - rss));
          if (std::fabs(checksum(loaded) - tree_sum) > 1e-9 * std::max(1.0, std::fabs(tree_sum))) load_sums_equal = false;
        } else {
          const auto r = py.ask("load " + tempo_path);
          py_load.add(r.at(0));
          py_load_peak.add(r.at(2));
          if (std::fabs(r.at(1) - tree_sum) > 1e-9 * std::max(1.0, std::fabs(tree_sum))) load_sums_equal = false;
        }
      }
      auto last = [](const Series& x) { return x.s.empty() ? NAN : x.s.back(); };
      std::printf("rep %d/%d: save tempo %.3f python %.3f | saver sync %.3f async stall %.4f lost %.3f total %.3f "
                  "full-copy stall %.3f, next batch %.3f (alone %.3f) | dd write %.3f read %.3f | load tempo %.3f "
                  "python %.3f\n",
                  rep + 1, reps, last(tempo_save), last(py_save), last(saver_sync), last(async_stall), last(async_lost),
                  last(async_total), last(full_copy_stall), last(batch_beside), last(batch_alone), last(dd), last(dd_read),
                  last(tempo_load), last(py_load));
      std::fflush(stdout);
    }

    const double fb = tempo_file_bytes;
    std::printf("\nfiles: tempo %.0f bytes, python %.0f bytes, dd %.0f bytes\n", tempo_file_bytes, py_file_bytes,
                static_cast<double>(dd_count) * kMiB);
    std::printf("page cache before loads: %s\n", can_drop ? "dropped" : "warm (could not drop)");
    std::printf("\n  %-14s %9s %9s %9s %9s\n", "seconds", "median", "min", "max", "GB/s");
    print_row("tempo save", tempo_save.s, fb);
    print_row("python save", py_save.s, fb);
    print_row("saver sync", saver_sync.s, fb);
    print_row("async stall", async_stall.s, fb);
    print_row("async total", async_total.s, fb);
    print_row("full-copy stall", full_copy_stall.s, fb);
    print_row("next batch", batch_beside.s, 0);
    print_row("next batch alone", batch_alone.s, 0);
    print_row("async lost", async_lost.s, 0);
    print_row("dd (raw write)", dd.s, static_cast<double>(dd_count) * kMiB);
    print_row("dd (raw read)", dd_read.s, fb);
    print_row("tempo load", tempo_load.s, fb);
    print_row("python load", py_load.s, fb);
    std::printf("\n  ratios of medians (goals judged on these; this disk's speed swings 3-4x between runs)\n");
    print_ratio("tempo save / python save", tempo_save.s, py_save.s, "<= 0.5", 0.5);
    print_ratio("tempo load / python load", tempo_load.s, py_load.s, "<= 0.5", 0.5);
    print_ratio("tempo save / dd write", tempo_save.s, dd.s, nullptr, 0);
    print_ratio("python save / dd write", py_save.s, dd.s, nullptr, 0);
    print_ratio("tempo load / dd read", tempo_load.s, dd_read.s, nullptr, 0);
    print_ratio("async stall / saver sync", async_stall.s, saver_sync.s, "<= 0.1", 0.1);
    print_ratio("full-copy stall / sync", full_copy_stall.s, saver_sync.s, nullptr, 0);
    print_ratio("batch beside save / alone", batch_beside.s, batch_alone.s, nullptr, 0);
    print_ratio("async lost / saver sync", async_lost.s, saver_sync.s, nullptr, 0);
    print_ratio("dd write / tempo save", dd.s, tempo_save.s, nullptr, 0);
    std::printf("  %-24s %6.3f s (allocates the staging buffers; %.1f MB held)\n", "first async stall", first_stall,
                static_cast<double>(async_saver.staged_bytes()) / 1e6);
    std::printf("\n  extra peak memory (median over reps; VmHWM after - VmRSS before)\n");
    auto peak = [&](const char* name, const std::vector<double>& v, const char* goal) {
      if (v.empty()) {
        std::printf("  %-14s -\n", name);
        return;
      }
      const double m = median(v);
      std::printf("  %-14s %8.1f MB  %6.1f%% of file (max %.1f MB)", name, m / 1e6, 100.0 * m / fb, max_of(v) / 1e6);
      if (goal) std::printf("   goal <= 10%%: %s", m <= 0.10 * fb ? "met" : "MISSED");
      std::printf("\n");
    };
    peak("tempo save", tempo_save_peak.s, "goal");
    peak("python save", py_save_peak.s, nullptr);
    peak("tempo load", tempo_load_peak.s, nullptr);
    peak("python load", py_load_peak.s, nullptr);
    std::printf("\n  loaded checksums match the saved state: %s\n", load_sums_equal ? "yes" : "NO");
    std::printf("\n");
    // Side-by-side ratios for benchmarks/run.sh; throughput ratios are inverse time ratios.
    bench::result("checkpoint_io", "async save stall / sync save", bench::ratios(async_stall.s, saver_sync.s), "<= 0.1");
    bench::result("checkpoint_io", "full-copy stall (start_save) / sync save", bench::ratios(full_copy_stall.s, saver_sync.s), "");
    bench::result("checkpoint_io", "next batch beside an async save / alone (time)", bench::ratios(batch_beside.s, batch_alone.s), "");
    bench::result("checkpoint_io", "training time lost to an async save / sync save", bench::ratios(async_lost.s, saver_sync.s), "");
    bench::result("checkpoint_io", "sync save throughput / dd write", bench::ratios(dd.s, tempo_save.s), ">= 0.8");
    bench::result("checkpoint_io", "saver sync throughput / dd write", bench::ratios(dd.s, saver_sync.s), ">= 0.8");
    if (have_python) {
      bench::result("checkpoint_io", "tempo save / torch.save", bench::ratios(tempo_save.s, py_save.s), "<= 0.5");
      bench::result("checkpoint_io", "tempo load / torch.load", bench::ratios(tempo_load.s, py_load.s), "<= 0.5");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_checkpoint_io: %s\n", e.what());
    cleanup();
    return 1;
  }
  cleanup();
  return 0;
}
