// tokens/s of configs/tiny_lm.yaml's model and data, trained by tempo's Trainer (the same parts
// the YAML builds: gpt, text_tokens, fused AdamW, no callbacks), against the same model trained by
// the plain PyTorch loop in Python on the same torch (benchmarks/gpt_step.py with
// examples/tiny_lm/gpt.py, a long-lived process driven over a pipe, so start-up and `import torch`
// are never timed), on the same number of intra-op threads.
//
// Each repetition times `steps` optimizer steps of each side, in an order that alternates every
// repetition, after warm-up steps; the ratio tempo/Python of time per step is taken within a
// repetition. The physical limit is reported too: the step's matrix-multiply FLOPs (6 x
// parameters x tokens, plus attention) over the machine's measured float32 matmul rate.
//
//   bench_gpt_step [--reps 5] [--steps 30] [--threads N] [--files GLOB] [--python TEMPO_PYTHON]
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_python_side.h"
#include "bench_support.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/text_tokens.h"
#include "tempo/models/gpt.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/trainer/trainer.h"

#ifndef TEMPO_BENCH_DIR
#define TEMPO_BENCH_DIR "benchmarks"
#endif

namespace {

// configs/tiny_lm.yaml's sizes.
constexpr int64_t kSeqLen = 64, kBatch = 32, kLayers = 2, kHeads = 4, kWidth = 128;

tempo::GptOptions gpt_options() {
  return tempo::GptOptions().context_length(kSeqLen).layers(kLayers).heads(kHeads).width(kWidth);
}

// float32 matmul rate of this machine (FLOP/s) on the shapes of the model's largest products.
double matmul_rate() {
  auto a = torch::randn({kBatch * kSeqLen, kWidth}), b = torch::randn({kWidth, 4 * kWidth});
  for (int i = 0; i < 5; ++i) (void)torch::matmul(a, b);
  const int n = 200;
  const auto start = bench::Clock::now();
  for (int i = 0; i < n; ++i) (void)torch::matmul(a, b);
  return 2.0 * kBatch * kSeqLen * kWidth * 4 * kWidth * n / bench::seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5, steps = 30, threads = at::get_num_threads();
  std::string files = "/usr/share/common-licenses/*";
  std::string python = bench::default_python();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--reps") reps = std::stoi(value);
    else if (flag == "--steps") steps = std::stoi(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--files") files = value;
    else if (flag == "--python") python = value;
    else throw std::runtime_error("unknown flag " + flag);
  }
  at::set_num_threads(threads);
  auto data = std::make_shared<tempo::TextTokensDataset>(
      tempo::TextTokensOptions().files(files).seq_len(kSeqLen).val_fraction(0.1));
  torch::manual_seed(17);
  auto model = std::make_shared<tempo::Gpt>(gpt_options());
  auto optimizer = std::make_shared<tempo::FusedAdamW>(
      model->parameters(), torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).weight_decay(0.01));
  tempo::Trainer trainer(tempo::TrainerOptions()
                             .model(model)
                             .train_dataloader(std::make_shared<tempo::DataLoader>(
                                 data, tempo::DataLoaderOptions().batch_size(kBatch).shuffle(true)))
                             .optimizers({optimizer})
                             .max_duration("3ba")
                             .run_name("bench-gpt"));
  trainer.fit();  // warm-up

  bench::PythonSide py(python, std::string(TEMPO_BENCH_DIR) + "/gpt_step.py");
  if (!py.ready()) throw std::runtime_error("python side: " + py.why_not());
  py.ask("setup " + std::to_string(threads) + " " + files + " " + std::to_string(kSeqLen) + " " +
         std::to_string(kBatch) + " " + std::to_string(kLayers) + " " + std::to_string(kHeads) + " " +
         std::to_string(kWidth));

  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const double tokens = static_cast<double>(kBatch * kSeqLen);
  // 6 FLOPs per parameter per token (forward and backward), plus attention's two products.
  const double flops = 6.0 * params * tokens + 6.0 * 2.0 * kLayers * kBatch * kSeqLen * kSeqLen * kWidth;
  const double rate = matmul_rate();
  std::printf("gpt %lld parameters, %d threads, %lld tokens a step; matmul %.1f GFLOP/s, %.2f GFLOP a step\n",
              static_cast<long long>(params), threads, static_cast<long long>(tokens), rate / 1e9, flops / 1e9);

  std::vector<double> tempo_s, python_s;
  for (int rep = 0; rep < reps; ++rep) {
    double t = 0, p = 0;
    for (int side = 0; side < 2; ++side) {
      if ((side + rep) % 2 == 0) {
        const auto start = bench::Clock::now();
        trainer.fit(tempo::Time(steps, tempo::TimeUnit::BATCH));
        t = bench::seconds_since(start) / steps;
      } else {
        p = py.ask("time " + std::to_string(steps)).at(0);
      }
    }
    tempo_s.push_back(t);
    python_s.push_back(p);
    std::printf("  rep %d  tempo %.2f ms/step (%.0f tok/s)  python %.2f ms/step (%.0f tok/s)  ratio %.3f\n", rep,
                t * 1e3, tokens / t, p * 1e3, tokens / p, t / p);
    std::fflush(stdout);
  }
  std::vector<double> tempo_tps, python_tps, limit;
  for (size_t i = 0; i < tempo_s.size(); ++i) {
    tempo_tps.push_back(tokens / tempo_s[i]);
    python_tps.push_back(tokens / python_s[i]);
    limit.push_back(flops / rate / tempo_s[i]);
  }
  bench::result("gpt_step", "tempo time per step / Python's (tiny_lm gpt)", bench::ratios(tempo_s, python_s), "<= 0.7");
  bench::result("gpt_step", "tempo tokens/s", tempo_tps, "");
  bench::result("gpt_step", "Python tokens/s", python_tps, "");
  bench::result("gpt_step", "tempo step at the matmul rate / tempo step (compute bound = 1)", limit, "");
  return 0;
}
