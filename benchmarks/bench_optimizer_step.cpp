// The optimizer step alone, for a ~51M-parameter model (four 3584x3584 float32 matrices) with
// fixed random gradients: tempo's fused optimizers (optim/fused_adam.h, optim/fused_sgd.h) against
// torch::optim's and Python's torch.optim (benchmarks/optimizer_step.py, a long-lived process
// driven over a pipe, so interpreter start-up, import and allocation are never timed), for Adam,
// AdamW and SGD with momentum, all on the same number of intra-op threads.
//
// Each repetition times `steps` steps of each implementation, in an order that rotates every
// repetition; two warm-up steps each come first (the fused one's first step flattens the
// parameters; every first step creates the state). The ratios are taken within a repetition, so
// load from other processes hits both sides of a ratio alike.
//
//   bench_optimizer_step [--reps 5] [--steps 5] [--threads N] [--python TEMPO_PYTHON]
//                        [--script benchmarks/optimizer_step.py] [--no-python]
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_python_side.h"
#include "bench_support.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/optim/fused_kernels.h"
#include "tempo/optim/fused_sgd.h"

#ifndef TEMPO_BENCH_DIR
#define TEMPO_BENCH_DIR "benchmarks"
#endif

namespace {

constexpr int64_t kRows = 3584;
constexpr int64_t kCount = 4;
constexpr double kLr = 1e-3;
constexpr double kMomentum = 0.9;

// Parameters with gradients, as the Python side makes them (values differ; the work does not).
std::vector<at::Tensor> make_params(uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<at::Tensor> params;
  for (int64_t i = 0; i < kCount; ++i) {
    auto p = (torch::randn({kRows, kRows}, gen) * 0.02).requires_grad_(true);
    p.mutable_grad() = torch::randn({kRows, kRows}, gen);
    params.push_back(p);
  }
  return params;
}

double time_steps(torch::optim::Optimizer& optimizer, int steps) {
  const auto start = bench::Clock::now();
  for (int i = 0; i < steps; ++i) optimizer.step();
  return bench::seconds_since(start) / steps;
}

struct Kind {
  std::string name;      // as printed and in RESULT lines
  std::string python;    // optimizer_step.py's name
  std::function<std::shared_ptr<torch::optim::Optimizer>(std::vector<at::Tensor>, bool fused)> make;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 5, steps = 5, threads = at::get_num_threads();
  std::string python = bench::default_python();
  std::string script = std::string(TEMPO_BENCH_DIR) + "/optimizer_step.py";
  bool with_python = true;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-python") {
      with_python = false;
    } else if (i + 1 < argc && flag == "--reps") {
      reps = std::stoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--steps") {
      steps = std::stoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--threads") {
      threads = std::stoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--python") {
      python = argv[++i];
    } else if (i + 1 < argc && flag == "--script") {
      script = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--reps N] [--steps N] [--threads N] [--python PATH] [--script PATH] [--no-python]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    at::set_num_threads(threads);
    std::unique_ptr<bench::PythonSide> py;
    if (with_python) {
      py = std::make_unique<bench::PythonSide>(python, script);
      if (!py->ready()) throw std::runtime_error(py->why_not());
    }
    namespace optim = torch::optim;
    const std::vector<Kind> kinds = {
        {"Adam", "adam",
         [](std::vector<at::Tensor> p, bool fused) -> std::shared_ptr<optim::Optimizer> {
           if (fused) return std::make_shared<tempo::FusedAdam>(std::move(p), optim::AdamOptions(kLr));
           return std::make_shared<optim::Adam>(std::move(p), optim::AdamOptions(kLr));
         }},
        {"AdamW", "adamw",
         [](std::vector<at::Tensor> p, bool fused) -> std::shared_ptr<optim::Optimizer> {
           if (fused) return std::make_shared<tempo::FusedAdamW>(std::move(p), optim::AdamWOptions(kLr));
           return std::make_shared<optim::AdamW>(std::move(p), optim::AdamWOptions(kLr));
         }},
        {"SGD momentum", "sgd",
         [](std::vector<at::Tensor> p, bool fused) -> std::shared_ptr<optim::Optimizer> {
           const auto o = optim::SGDOptions(kLr).momentum(kMomentum);
           if (fused) return std::make_shared<tempo::FusedSGD>(std::move(p), o);
           return std::make_shared<optim::SGD>(std::move(p), o);
         }},
    };
    std::printf("Optimizer step, %lld float32 parameters (%lld x %lldx%lld), %d repetitions of %d steps, "
                "%d intra-op thread(s) in C++%s; fused kernels: %s\n",
                static_cast<long long>(kCount * kRows * kRows), static_cast<long long>(kCount),
                static_cast<long long>(kRows), static_cast<long long>(kRows), reps, steps, threads,
                with_python ? " and Python" : "", tempo::fused::kernel_name());
    const std::vector<std::string> names = {"fused", "torch::optim", "python"};
    const size_t sides = with_python ? 3 : 2;
    for (const auto& kind : kinds) {
      if (py) {
        py->ask("setup " + kind.python + " " + std::to_string(threads) + " " + std::to_string(kRows) + "x" +
                std::to_string(kRows) + " " + std::to_string(kCount) + " " + std::to_string(kLr) + " " +
                std::to_string(kMomentum));
      }
      auto fused = kind.make(make_params(1), true);
      auto plain = kind.make(make_params(1), false);
      for (int i = 0; i < 2; ++i) {
        fused->step();
        plain->step();
      }
      std::vector<std::vector<double>> seconds(sides);
      for (int rep = 0; rep < reps; ++rep) {
        std::printf("  %-13s rep %d:", kind.name.c_str(), rep);
        for (size_t j = 0; j < sides; ++j) {
          const size_t which = (j + static_cast<size_t>(rep)) % sides;
          const double s = which == 0   ? time_steps(*fused, steps)
                           : which == 1 ? time_steps(*plain, steps)
                                        : py->ask("time " + std::to_string(steps)).at(0);
          seconds[which].push_back(s);
          std::printf("  %s %.1f ms", names[which].c_str(), s * 1e3);
          std::fflush(stdout);
        }
        std::printf("\n");
      }
      std::printf("  %-13s median (min-max) ms/step:", kind.name.c_str());
      for (size_t j = 0; j < sides; ++j) {
        std::printf("  %s %.1f (%.1f-%.1f)", names[j].c_str(), bench::median(seconds[j]) * 1e3,
                    bench::min_of(seconds[j]) * 1e3, bench::max_of(seconds[j]) * 1e3);
      }
      std::printf("\n");
      bench::result("optimizer_step", "fused / torch::optim (" + kind.name + " step time)",
                    bench::ratios(seconds[0], seconds[1]), "");
      if (py) {
        bench::result("optimizer_step", "fused / python (" + kind.name + " step time)",
                      bench::ratios(seconds[0], seconds[2]), "");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_optimizer_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
