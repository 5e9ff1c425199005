// Data-parallel training on c10d/Gloo, 1 rank against 2, on this machine's CPUs.
//
// 1. Trainer::fit's samples per second for the MLP of configs/fashion_mnist_mlp.yaml (784-256-10,
//    FusedAdam as its `adam` builds) and a 24M-parameter MLP (784-4096-4096-1024-10), on synthetic
//    in-memory data, same global batch: 1 rank of batch 128 with 2 intra-op threads against 2 ranks
//    of batch 64 with 1 thread each (torchrun's OMP_NUM_THREADS=1): the same cores either way.
// 2. Where a 24M-parameter step's time goes on 2 ranks, in a hand loop over tempo::DataParallel
//    (plain SGD: no fused optimizer to prepare before the Reducer), in rounds of one each:
//      T_ddp      forward + backward with arm(true) (bucketed all-reduce overlapping backward) + step
//      T_nosync   the same with arm(false): no all-reduce, both ranks computing at once
//      T_view     T_ddp of a second copy of the model under gradient_as_bucket_view (no copies)
//      T_bare     Communicator::all_reduce of flat tensors of the gradient buckets' sizes (1 MB /
//                 25 MB caps, as the Reducer rebuilds them after the first step), one after another
//      T_memcpy   a memcpy of the gradients' bytes: the reference rate
//      T_copies   the Reducer's other work alone: gradients into the buckets (divided) and back
//      the small MLP's three collectives of a Trainer step, bare (its gradients, loss, stop flags)
//    each on both ranks at once with nothing else running; and, in a child of its own, T_compute:
//    1 rank's step of batch 128 on 2 threads, without DDP.
//    hidden fraction = 1 - (T_ddp - T_nosync) / T_bare, the share of the all-reduce hidden behind
//    backward; T_ddp / (T_nosync + T_bare) and T_view / (T_nosync + T_bare), a DDP step over its
//    parts measured alone (goal <= 1.05 for T_view, the Trainer's way); bus bandwidth = bytes /
//    T_bare (an all-reduce's factor 2(n-1)/n is 1 for n = 2).
//
// The ranks are processes: this binary runs itself (/proc/self/exe) with torchrun's environment
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and --child; rank 0
// writes its figures to a file the parent reads. 2-rank children check that their ranks' parameters
// agree (the gradients really were averaged). Each repetition runs every contender once, in an
// order rotated each repetition; a child still running after 120 s is killed and the benchmark
// fails. Per-repetition figures go to stdout, ratios to RESULT rows.
//
//   bench_distributed [--reps N]     (5 by default: about 90 s)
#include <torch/torch.h>
#include <torch/version.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_ranks.h"
#include "bench_support.h"

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include "tempo/data/data_loader.h"
#include "tempo/data/dataset.h"
#include "tempo/distributed/data_parallel.h"
#include "tempo/distributed/dist.h"
#include "tempo/models/mlp.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/state/rng.h"
#include "tempo/state/torch_compat.h"
#include "tempo/trainer/trainer.h"

namespace {

namespace fs = std::filesystem;

constexpr int64_t kGlobalBatch = 128;  // configs/fashion_mnist_mlp.yaml's batch_size
constexpr int64_t kSamples = 12800;    // synthetic data set: 100 global batches an epoch
constexpr int64_t kBucketCapBytes = 25 * 1024 * 1024;  // DataParallelOptions' default bucket_cap_mb
constexpr int kRounds = 10;                             // part 2: rounds of one step of each contender
constexpr int kComputeSteps = 4;                        // part 2: timed steps of the 1-rank compute

// warmup_batches are untimed (allocator, bucket rebuild, prefetcher start); timed_batches take
// about a second or more in each configuration.
struct ModelSpec {
  std::string key, label;
  std::vector<int64_t> hidden;
  int64_t warmup_batches, timed_batches;
};

const std::vector<ModelSpec>& model_specs() {
  static const std::vector<ModelSpec> specs{
      {"small", "MLP 784-256-10", {256}, 20, 300},
      {"big", "MLP 784-4096-4096-1024-10", {4096, 4096, 1024}, 2, 8},
  };
  return specs;
}

const ModelSpec& spec_of(const std::string& key) {
  for (const auto& spec : model_specs()) if (spec.key == key) return spec;
  throw std::runtime_error("unknown model '" + key + "'");
}

// Children: one rank each. Figures go to `out` as "key value" lines, written by rank 0 only.
struct ChildArgs {
  std::string mode, model, out;  // mode: trainer | step | compute; model: a ModelSpec's key
  int world, threads, rep;
};

void write_figures(const std::string& path, const std::map<std::string, double>& figures) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  for (const auto& [key, value] : figures) std::fprintf(file, "%s %.9g\n", key.c_str(), value);
  std::fclose(file);
}

// The slowest rank's figure: the ranks of a step finish together only when they synchronize.
double max_over_ranks(double value) {
  auto t = torch::tensor({value}, torch::kDouble);
  tempo::dist::all_reduce(t, tempo::ReduceOp::MAX);
  return t.item<double>();
}

// Throws unless every rank holds the same parameters: were the gradients not averaged (DDP's
// hooks not firing, say), the ranks would train apart and the timing would be of the wrong thing.
void check_ranks_agree(const std::vector<at::Tensor>& parameters, const std::string& when) {
  if (tempo::dist::world_size() < 2) return;
  double sum = 0;
  for (const auto& p : parameters) sum += p.detach().to(torch::kDouble).abs().sum().item<double>();
  const auto all = tempo::dist::all_gather(torch::tensor({sum}, torch::kDouble));
  const double a = all[0].item<double>(), b = all[1].item<double>();
  if (std::abs(a - b) > 1e-9 * std::abs(a)) {
    throw std::runtime_error("the ranks' parameters differ " + when + " (sums of |p| " + std::to_string(a) + " and " +
                             std::to_string(b) + "): the gradients were not averaged");
  }
}

int trainer_child(const ChildArgs& a) {
  const ModelSpec& spec = spec_of(a.model);
  tempo::seed_all(1);
  auto data = std::make_shared<tempo::TensorDataset>(torch::randn({kSamples, 784}),
                                                     torch::randint(0, 10, {kSamples}, torch::kLong));
  auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden(spec.hidden));
  auto optimizer = std::make_shared<tempo::FusedAdam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  // The loader's defaults (prefetching on), as `tempo train` runs the YAML; the Trainer joins the
  // ranks from the environment and shards the loader itself.
  auto loader = std::make_shared<tempo::DataLoader>(
      data, tempo::DataLoaderOptions().batch_size(kGlobalBatch / a.world).shuffle(true));
  tempo::Trainer trainer(
      tempo::TrainerOptions().model(model).train_dataloader(loader).optimizers({optimizer}).seed(17).dist_timeout(60));
  if (trainer.state().world_size != a.world) throw std::runtime_error("the child did not join its ranks");
  trainer.fit(tempo::Time(spec.warmup_batches, tempo::TimeUnit::BATCH));
  tempo::dist::barrier();
  const auto start = bench::Clock::now();
  trainer.fit(tempo::Time(spec.timed_batches, tempo::TimeUnit::BATCH));
  const double seconds = max_over_ranks(bench::seconds_since(start));
  check_ranks_agree(model->parameters(), "after training");
  if (tempo::dist::is_main_process()) {
    write_figures(a.out, {{"samples_per_s", static_cast<double>(kGlobalBatch * spec.timed_batches) / seconds},
                          {"seconds", seconds}});
  }
  return 0;
}

// The byte sizes of the gradient buckets the Reducer all-reduces from the second step on: it
// rebuilds them in the order gradients became ready in the first backward (for an MLP, the
// parameters' reverse order), with the same function and caps (1 MB first, then the cap).
std::vector<int64_t> rebuilt_bucket_bytes(const std::vector<at::Tensor>& parameters) {
  const std::vector<at::Tensor> ready_order(parameters.rbegin(), parameters.rend());
  const std::vector<size_t> limits{static_cast<size_t>(c10d::kDefaultFirstBucketBytes),
                                   static_cast<size_t>(kBucketCapBytes)};
  const auto buckets = std::get<0>(c10d::compute_bucket_assignment_by_size(ready_order, limits));
  std::vector<int64_t> bytes;
  for (const auto& bucket : buckets) {
    int64_t total = 0;
    for (size_t i : bucket) total += ready_order[i].numel() * static_cast<int64_t>(ready_order[i].element_size());
    bytes.push_back(total);
  }
  return bytes;
}

// The model of spec `key`, the same on every rank, in training mode.
std::shared_ptr<tempo::Mlp> seeded_mlp(const std::string& key) {
  tempo::seed_all(0);
  auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden(spec_of(key).hidden));
  model->train();
  return model;
}

// One rank's hand loop without DataParallel, batch 128: the compute that two ranks of batch 64
// share. Against T_nosync it says how far the compute alone scales on these cores.
int compute_child(const ChildArgs& a) {
  auto model = seeded_mlp("big");
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(1e-4));
  const auto x = torch::randn({kGlobalBatch, 784});
  const auto y = torch::randint(0, 10, {kGlobalBatch}, torch::kLong);
  const auto step = [&] {
    tempo::zero_grad_in_place(optimizer);
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    optimizer.step();
  };
  step();
  step();
  const auto start = bench::Clock::now();
  for (int k = 0; k < kComputeSteps; ++k) step();
  write_figures(a.out, {{"t_compute", bench::seconds_since(start) / kComputeSteps}});
  return 0;
}

int step_child(const ChildArgs& a) {
  auto comm = tempo::dist::initialize(60);
  if (!comm || comm->world_size() != 2) throw std::runtime_error("the step child needs 2 ranks");
  auto model = seeded_mlp("big");
  std::vector<at::Tensor> parameters;
  std::vector<std::string> names;
  for (const auto& item : model->named_parameters()) {
    names.push_back(item.key());
    parameters.push_back(item.value());
  }
  torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(1e-4));
  tempo::DataParallel ddp(comm, parameters, names, model->buffers(),
                          tempo::DataParallelOptions().bucket_cap_mb(kBucketCapBytes / (1024 * 1024)));
  // The same model again under a DataParallel with gradient_as_bucket_view (what the Trainer uses;
  // its fused optimizers read such gradients in place): the gradients are the buckets, with no
  // copies in or out. Plain SGD as above, so that only the views differ.
  auto view_model = seeded_mlp("big");
  std::vector<at::Tensor> view_parameters;
  for (const auto& item : view_model->named_parameters()) view_parameters.push_back(item.value());
  torch::optim::SGD view_optimizer(view_parameters, torch::optim::SGDOptions(1e-4));
  tempo::DataParallel view_ddp(comm, view_parameters, names, view_model->buffers(),
                               tempo::DataParallelOptions()
                                   .bucket_cap_mb(kBucketCapBytes / (1024 * 1024))
                                   .gradient_as_bucket_view(true));
  tempo::seed_all(100 + static_cast<uint64_t>(comm->rank()));
  const auto x = torch::randn({kGlobalBatch / 2, 784});
  const auto y = torch::randint(0, 10, {kGlobalBatch / 2}, torch::kLong);

  // The Trainer's order for one step of one microbatch (trainer.cpp train_batch / train_microbatch).
  const auto ddp_step = [&](torch::optim::Optimizer& opt, tempo::DataParallel& dp, tempo::Mlp& net, bool sync) {
    tempo::zero_grad_in_place(opt);
    dp.before_forward();
    auto loss = torch::nn::functional::cross_entropy(net.forward(x), y);
    dp.arm(sync);
    loss.backward();
    opt.step();
  };
  const auto step = [&](bool sync) { ddp_step(optimizer, ddp, *model, sync); };
  const auto view_step = [&] { ddp_step(view_optimizer, view_ddp, *view_model, true); };
  const auto bucket_bytes = rebuilt_bucket_bytes(parameters);
  std::vector<at::Tensor> buckets;
  int64_t total_bytes = 0;
  for (int64_t bytes : bucket_bytes) {
    buckets.push_back(torch::full({bytes / 4}, 1e-3, torch::kFloat));  // float32 gradients
    total_bytes += bytes;
  }
  const auto bare = [&] {
    for (auto& bucket : buckets) comm->all_reduce(bucket, tempo::ReduceOp::SUM, "the bare all-reduce");
  };
  // Written once before timing, so that no page fault is timed.
  std::vector<char> source(static_cast<size_t>(total_bytes), 1), target(static_cast<size_t>(total_bytes), 0);
  const auto copy = [&] {
    std::memcpy(target.data(), source.data(), source.size());
    volatile char sink = target[target.size() / 2];
    (void)sink;
  };

  // The collectives of one Trainer step of the small MLP on 2 ranks, bare: its one gradient
  // bucket (under the first 1 MB cap), then the loss (reduce_batch) and the stop flags
  // (agree_on_stop). They bound its step from below when compute is cheap.
  int64_t small_numel = 0;
  for (const auto& p : seeded_mlp("small")->parameters()) small_numel += p.numel();
  auto small_gradients = torch::full({small_numel}, 1e-3, torch::kFloat);
  auto loss = torch::zeros({1}, torch::kDouble);
  auto flags = torch::zeros({2}, torch::kLong);
  const auto small_collectives = [&] {
    comm->all_reduce(small_gradients, tempo::ReduceOp::SUM, "the small model's gradients");
    comm->all_reduce(loss, tempo::ReduceOp::SUM, "the loss");
    comm->all_reduce(flags, tempo::ReduceOp::MAX, "the stop flags");
  };

  // What the Reducer does to the gradients besides all-reducing them, alone: with
  // gradient_as_bucket_view off (DataParallel's choice) each gradient is copied into its bucket,
  // divided by the world size in the same pass, and copied back once the bucket is reduced.
  auto flat = torch::empty({total_bytes / 4}, torch::kFloat);
  const auto half = torch::scalar_tensor(0.5, torch::kFloat);
  std::vector<at::Tensor> views;  // each parameter's place in the flat buckets
  int64_t offset = 0;
  for (const auto& p : parameters) {
    views.push_back(flat.narrow(0, offset, p.numel()));
    offset += p.numel();
  }
  const auto bucket_copies = [&] {
    for (size_t i = 0; i < views.size(); ++i) at::mul_out(views[i], parameters[i].grad().reshape({-1}), half);
    for (size_t i = 0; i < views.size(); ++i) parameters[i].grad().view({-1}).copy_(views[i]);
  };

  step(true);  // the first synced backward records the order the Reducer rebuilds its buckets in
  step(true);
  check_ranks_agree(parameters, "after two synchronized steps");
  view_step();
  view_step();
  check_ranks_agree(view_parameters, "after two synchronized steps with gradients as bucket views");

  // Rounds of one of each, in an order rotated every round: this machine's speed drifts over
  // seconds, so each round's ratios compare figures taken within about half a second.
  struct Timed {
    const char* name;
    int iterations;  // the small collectives take milliseconds, the rest a tenth of a second
    std::function<void()> run;
  };
  const std::vector<Timed> timed{{"t_ddp", 1, [&] { step(true); }},  {"t_nosync", 1, [&] { step(false); }},
                                 {"t_bare", 1, bare},                 {"t_memcpy", 1, copy},
                                 {"t_copies", 1, bucket_copies},      {"t_small_collectives", 20, small_collectives},
                                 {"t_ddp_view", 1, view_step}};
  for (const auto& t : timed) t.run();  // untimed: first touches of buffers, Gloo's first pairs
  std::vector<std::vector<double>> times(timed.size());
  std::vector<double> hidden, overhead, excess, overhead_view;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t j = 0; j < timed.size(); ++j) {
      const size_t which = (j + static_cast<size_t>(round + a.rep)) % timed.size();
      comm->barrier("the start of a timed block");
      const auto start = bench::Clock::now();
      for (int k = 0; k < timed[which].iterations; ++k) timed[which].run();
      times[which].push_back(max_over_ranks(bench::seconds_since(start) / timed[which].iterations));
    }
    const double ddp_s = times[0].back(), nosync_s = times[1].back(), bare_s = times[2].back();
    hidden.push_back(1.0 - (ddp_s - nosync_s) / bare_s);
    overhead.push_back(ddp_s / (nosync_s + bare_s));
    excess.push_back((ddp_s - nosync_s - bare_s) / times[4].back());
    overhead_view.push_back(times[6].back() / (nosync_s + bare_s));
  }
  std::map<std::string, double> figures;
  for (size_t i = 0; i < timed.size(); ++i) figures[timed[i].name] = bench::median(times[i]);
  figures["hidden"] = bench::median(hidden);
  figures["overhead"] = bench::median(overhead);
  figures["excess"] = bench::median(excess);
  figures["overhead_view"] = bench::median(overhead_view);
  figures["bytes"] = static_cast<double>(total_bytes);
  for (size_t i = 0; i < bucket_bytes.size(); ++i) {
    figures["bucket" + std::to_string(i) + "_bytes"] = static_cast<double>(bucket_bytes[i]);
  }
  if (comm->rank() == 0) write_figures(a.out, figures);
  return 0;
}

int child_main(const ChildArgs& a) {
  at::set_num_threads(a.threads);
  try {
    if (a.mode == "trainer") return trainer_child(a);
    if (a.mode == "step") return step_child(a);
    if (a.mode == "compute") return compute_child(a);
    throw std::runtime_error("unknown child mode '" + a.mode + "'");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_distributed child (%s, rank %s): %s\n", a.mode.c_str(),
                 std::getenv("RANK") ? std::getenv("RANK") : "-", e.what());
    return 1;
  }
}

// Prints a figure: times (keys t_*) in ms, bytes in MB, the rest as they are.
void print_figure(const std::string& key, double value) {
  if (key.rfind("t_", 0) == 0) {
    std::printf("  %s %.2f ms", key.c_str(), 1e3 * value);
  } else if (key.find("bytes") != std::string::npos) {
    std::printf("  %s %.2f MB", key.c_str(), value / 1e6);
  } else {
    std::printf(std::abs(value) >= 1000 ? "  %s %.0f" : "  %s %.4g", key.c_str(), value);
  }
}

int parent_main(int reps) {
  bench::Launcher launcher;
  struct Contender {
    std::string name, mode, model;
    int world, threads;
  };
  // One rank takes both cores with 2 intra-op threads; each of two ranks takes one.
  const Contender contenders[] = {
      {"small 1 rank", "trainer", "small", 1, 2}, {"small 2 ranks", "trainer", "small", 2, 1},
      {"big 1 rank", "trainer", "big", 1, 2},     {"big 2 ranks", "trainer", "big", 2, 1},
      {"step 2 ranks", "step", "big", 2, 1},      {"compute 1 rank", "compute", "big", 1, 2},
  };
  std::printf("Data parallel on c10d/Gloo, %u CPUs: 1 rank x 2 intra-op threads (batch %lld) against 2 ranks x 1 "
              "thread (batch %lld each); %d repetitions, contenders in rotated order\n",
              std::thread::hardware_concurrency(), static_cast<long long>(kGlobalBatch),
              static_cast<long long>(kGlobalBatch / 2), reps);
  // figures[contender][key]: one value per repetition.
  std::map<std::string, std::map<std::string, std::vector<double>>> figures;
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t j = 0; j < std::size(contenders); ++j) {
      const auto& c = contenders[(j + static_cast<size_t>(rep)) % std::size(contenders)];
      std::printf("  rep %d  %-15s", rep, c.name.c_str());
      for (const auto& [key, value] : launcher.run(c.mode, c.model, c.world, c.threads, rep)) {
        figures[c.name][key].push_back(value);
        if (key.rfind("bucket", 0) != 0) print_figure(key, value);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  const auto series = [&](const std::string& name, const std::string& key) { return figures.at(name).at(key); };

  std::printf("\nmedians over the repetitions:\n");
  for (const auto& c : contenders) {
    std::printf("  %-15s", c.name.c_str());
    for (const auto& [key, values] : figures.at(c.name)) print_figure(key, bench::median(values));
    std::printf("\n");
  }
  // The step child's per-round ratios, the bandwidths, and the ratios between children of a repetition.
  const std::string step = "step 2 ranks";
  const double bytes = series(step, "bytes")[0];
  std::vector<double> bus_gbs, memcpy_gbs, small_step;
  for (double t : series(step, "t_bare")) bus_gbs.push_back(bytes / t / 1e9);  // x 2(n-1)/n = 1 for n = 2
  for (double t : series(step, "t_memcpy")) memcpy_gbs.push_back(bytes / t / 1e9);
  for (double v : series("small 2 ranks", "samples_per_s")) small_step.push_back(static_cast<double>(kGlobalBatch) / v);
  std::printf("bare all-reduce bus bandwidth %.2f GB/s (%.2f-%.2f); memcpy on each rank, both at once, %.2f GB/s "
              "(%.2f-%.2f)\n\n",
              bench::median(bus_gbs), bench::min_of(bus_gbs), bench::max_of(bus_gbs), bench::median(memcpy_gbs),
              bench::min_of(memcpy_gbs), bench::max_of(memcpy_gbs));

  for (const auto& spec : model_specs()) {
    const auto ratio =
        bench::ratios(series(spec.key + " 2 ranks", "samples_per_s"), series(spec.key + " 1 rank", "samples_per_s"));
    std::vector<double> efficiency;
    for (double r : ratio) efficiency.push_back(r / 2.0);
    bench::result("distributed", spec.label + ": 2 ranks / 1 rank (samples/s)", ratio, "");
    bench::result("distributed", spec.label + ": scaling efficiency (ratio / 2)", efficiency, "");
  }
  bench::result("distributed", "MLP 784-256-10 2 ranks: bare collectives of a step / Trainer step time",
                bench::ratios(series(step, "t_small_collectives"), small_step), "");
  bench::result("distributed", "24M compute alone (no all-reduce): 2 ranks / 1 rank (samples/s)",
                bench::ratios(series("compute 1 rank", "t_compute"), series(step, "t_nosync")), "");
  bench::result("distributed", "24M DDP step: all-reduce hidden behind backward (fraction)", series(step, "hidden"),
                "");
  bench::result("distributed", "24M DDP step, gradients copied to buckets (DDP's default) / (compute + bare all-reduce)",
                series(step, "overhead"), "");
  bench::result("distributed", "24M DDP step, gradients as bucket views (the Trainer's) / (compute + bare all-reduce)",
                series(step, "overhead_view"), "<= 1.05");
  bench::result("distributed", "24M (T_ddp - T_nosync - T_bare) / Reducer's bucket copies alone",
                series(step, "excess"), "");
  bench::result("distributed", "bare all-reduce bus bandwidth / memcpy rate", bench::ratios(bus_gbs, memcpy_gbs), "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags{{"--reps", "5"}, {"--child", ""}, {"--model", "small"}, {"--out", ""},
                                           {"--world", "1"}, {"--threads", "1"}, {"--rep", "0"}};
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 == argc || flags.count(argv[i]) == 0) {
      std::fprintf(stderr, "usage: bench_distributed [--reps N]\n");
      return 2;
    }
    flags[argv[i]] = argv[i + 1];
  }
  const int reps = std::stoi(flags["--reps"]);
  if (!flags["--child"].empty()) {
    return child_main({flags["--child"], flags["--model"], flags["--out"], std::stoi(flags["--world"]),
                       std::stoi(flags["--threads"]), std::stoi(flags["--rep"])});
  }
  try {
    return parent_main(std::max(1, reps));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_distributed: %s\n", e.what());
    return 1;
  }
}

#else  // LibTorch 1.x: no c10d, so no ranks to measure

int main() {
  std::printf("bench_distributed: skipped: data-parallel training needs LibTorch 2.x's c10d (TEMPO_TORCH=wheel)\n");
  return 0;
}

#endif
