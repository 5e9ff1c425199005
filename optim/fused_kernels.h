// The arithmetic of the fused optimizers (optim/fused_sgd.h, optim/fused_adam.h): the update of
// one range of one parameter's elements, over raw pointers into the flat buffers, and the loop
// that splits all parameters' ranges across at::parallel_for's threads.
//
// Each element goes through exactly the float operations, in the order and with the rounding, that
// LibTorch 1.13's torch::optim (and Python's single-tensor torch.optim) applies tensor by tensor,
// so the fused step gives the same bits rather than merely close ones. The one choice that is not
// fixed by the source is whether ATen's `a + alpha * b` (add with alpha, addcmul) rounds once (a
// fused multiply-add, as its AVX2 kernels compiled with -mfma do) or twice (its default kernels).
// kernel_name() tells which one ATen does, found by running one such add through ATen when the
// kernels are first used; the matching kernels here are then used: AVX2+FMA vectors
// (optim/fused_kernels_avx2.cpp, only on CPUs that have them) or portable ones.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace tempo::fused {

// Where ATen's float sqrt is the correctly rounded one (LibTorch 1.13; any build without MKL),
// a step is one pass (kWhole). Where it is not (the torch 2.x wheels compute it with MKL's vector
// math, which misses by one ulp in about 0.6% of elements), the square roots must be ATen's own
// for the step to equal torch::optim's: one pass updates the moments (kMoments), ATen takes the
// square roots of the whole second-moment buffer, and a second pass updates the parameters from
// them (kApply). aten_sqrt_is_ieee() tells which, probed once.
enum class AdamPass { kWhole, kMoments, kApply };

// One parameter's Adam or AdamW update. Scalars are float, converted from the double options as
// ATen converts a Scalar for a float tensor.
struct AdamRange {
  AdamPass pass = AdamPass::kWhole;
  const float* sqrt_second_moment = nullptr;  // kApply: ATen's sqrt of exp_avg_sq (AMSGrad: its max)
  float* param = nullptr;
  const float* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  float* max_exp_avg_sq = nullptr;  // AMSGrad's running maximum; null: no AMSGrad
  float decay = 1.0f;               // AdamW: param *= 1 - lr * weight_decay first; 1: none
  float weight_decay = 0.0f;        // Adam's L2 term: grad + weight_decay * param; 0: none
  float beta1 = 0.0f;
  float one_minus_beta1 = 0.0f;
  float beta2 = 0.0f;
  float one_minus_beta2 = 0.0f;
  float bias_correction2_sqrt = 1.0f;
  float eps = 0.0f;
  float neg_step_size = 0.0f;  // -lr / bias_correction1
};

// One parameter's SGD update.
struct SgdRange {
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buffer = nullptr;  // null: no momentum
  float weight_decay = 0.0f;         // 0: none
  float momentum = 0.0f;
  float one_minus_dampening = 1.0f;
  float neg_lr = 0.0f;
  bool nesterov = false;
  bool first_step = false;  // the buffer starts as a copy of the gradient, as PyTorch's clone()
};

// Elements [begin, end) of the range.
void adam(const AdamRange& range, int64_t begin, int64_t end);
void sgd(const SgdRange& range, int64_t begin, int64_t end);

// "avx2+fma", "portable" or "portable+fma": the kernels in use, for tests and benchmarks.
const char* kernel_name();
// Whether at::sqrt of float tensors rounds correctly here, probed once (see AdamPass).
bool aten_sqrt_is_ieee();

// Calls fn(job, begin, end) for pieces that together cover [0, sizes[job]) of every job once,
// spread over at::parallel_for's threads by element count, so one big parameter is split and many
// small ones are grouped.
void parallel_over(const std::vector<int64_t>& sizes, const std::function<void(size_t, int64_t, int64_t)>& fn);

}  // namespace tempo::fused
