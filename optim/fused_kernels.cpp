// Picks the fused optimizers' kernels once, to round as ATen does here (see fused_kernels.h), and
// spreads their ranges over threads.
#include "tempo/optim/fused_kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tempo/optim/fused_kernels_impl.h"

namespace tempo::fused {

#if defined(TEMPO_FUSED_AVX2)
// optim/fused_kernels_avx2.cpp
void adam_avx2(const AdamRange& range, int64_t begin, int64_t end);
void sgd_avx2(const SgdRange& range, int64_t begin, int64_t end);
#endif

namespace {

// Below this many elements a step runs on the calling thread: waking the pool costs more.
constexpr int64_t kGrain = 32768;

struct Kernels {
  void (*adam)(const AdamRange&, int64_t, int64_t);
  void (*sgd)(const SgdRange&, int64_t, int64_t);
  const char* name;
};

// Whether ATen's add(other, alpha) rounds a * alpha + b once. With b = alpha = 1 + 2^-12 the exact
// product 1 + 2^-11 + 2^-24 is not a float; a fused multiply-add keeps the 2^-24 that a rounded
// product loses. 67 elements: ATen's vector loop and its scalar tail both get a say, and the
// vector loop (almost all elements of a real parameter) decides.
bool aten_rounds_multiply_add_once() {
  const double alpha = 1.0 + std::ldexp(1.0, -12);
  const auto b = at::full({67}, alpha, at::kFloat);
  const auto a = at::full({67}, -(1.0 + std::ldexp(1.0, -11)), at::kFloat);
  return a.add(b, alpha)[0].item<float>() != 0.0f;
}

// at::sqrt against the correctly rounded sqrt on 4096 deterministic values spread over many binades
// (not from torch's generator, whose stream training owns).
bool probe_aten_sqrt() {
  std::vector<float> values(4096);
  uint32_t x = 12345;
  for (auto& v : values) {
    x = x * 1664525u + 1013904223u;
    v = std::ldexp(1.0f + static_cast<float>(x >> 8) / 16777216.0f, static_cast<int>(x % 40) - 30);
  }
  const auto roots = at::sqrt(at::from_blob(values.data(), {4096}, at::kFloat));
  const float* r = roots.data_ptr<float>();
  for (size_t i = 0; i < values.size(); ++i)
    if (r[i] != std::sqrt(values[i])) return false;
  return true;
}

Kernels choose() {
  const bool fma = aten_rounds_multiply_add_once();
#if defined(TEMPO_FUSED_AVX2)
  __builtin_cpu_init();
  if (fma && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return {adam_avx2, sgd_avx2, "avx2+fma"};
  }
#endif
  if (fma) return {adam_range<true, Scalar>, sgd_range<true, Scalar>, "portable+fma"};
  return {adam_range<false, Scalar>, sgd_range<false, Scalar>, "portable"};
}

const Kernels& kernels() {
  static const Kernels chosen = choose();
  return chosen;
}

}  // namespace

void adam(const AdamRange& range, int64_t begin, int64_t end) { kernels().adam(range, begin, end); }
void sgd(const SgdRange& range, int64_t begin, int64_t end) { kernels().sgd(range, begin, end); }
const char* kernel_name() { return kernels().name; }
bool aten_sqrt_is_ieee() {
  static const bool ieee = probe_aten_sqrt();
  return ieee;
}

void parallel_over(const std::vector<int64_t>& sizes, const std::function<void(size_t, int64_t, int64_t)>& fn) {
  std::vector<int64_t> starts(sizes.size() + 1, 0);
  for (size_t j = 0; j < sizes.size(); ++j) starts[j + 1] = starts[j] + sizes[j];
  at::parallel_for(0, starts.back(), kGrain, [&](int64_t begin, int64_t end) {
    // The last job starting at or before `begin` (zero-sized jobs share a start and are skipped).
    size_t j = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin()) - 1;
    for (; j < sizes.size() && starts[j] < end; ++j) {
      const int64_t lo = std::max(begin, starts[j]) - starts[j];
      const int64_t hi = std::min(end, starts[j + 1]) - starts[j];
      if (lo < hi) fn(j, lo, hi);
    }
  });
}

}  // namespace tempo::fused
