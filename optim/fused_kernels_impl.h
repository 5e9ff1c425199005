// The element loops of optim/fused_kernels.h, written once and compiled twice: by
// fused_kernels.cpp for any CPU (scalar code) and by fused_kernels_avx2.cpp with -mavx2 -mfma,
// which adds eight-lane vectors. Everything here has internal linkage, so the linker cannot mix up
// the two compilations (why ATen puts its kernels in a namespace named after the CPU capability).
// The vectors are plain AVX2 intrinsics rather than at::vec::Vectorized<float>, whose AVX2 form
// needs SLEEF's header, which Debian's libtorch-dev does not bring.
//
// The order of operations is ATen's, op by op (see fused_kernels.h); madd(a, b, c) stands for
// ATen's `c + b * a` of add(alpha) and addcmul, rounded once when kFma, twice otherwise. The scalar
// tail does what the vector lanes do, so where a range is split does not change a bit.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "tempo/optim/fused_kernels.h"

namespace tempo::fused {
namespace {

template <bool kFma>
inline float madd(float a, float b, float c) {
  if constexpr (kFma) {
    return std::fma(a, b, c);
  } else {
    return a * b + c;
  }
}

// torch.maximum: NaN wins.
inline float maximum(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return a > b ? a : b;
}

#if defined(__AVX2__) && defined(__FMA__)
// Eight float lanes; madd rounds once (vfmadd), as ATen's AVX2 kernels do.
struct Avx2 {
  using V = __m256;
  static constexpr int64_t kSize = 8;
  static V set(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V madd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // NaN in either operand gives NaN (all bits set), as at::vec::maximum.
  static V max(V a, V b) { return _mm256_or_ps(_mm256_max_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q)); }
};
#endif

// No vectors: the scalar loop alone.
struct Scalar {};

// AdamPass::kWhole does all of Adam's element update at once; kMoments only the moments (and AMSGrad's
// maximum), kApply only the parameter, from the square roots in r.sqrt_second_moment (see
// fused_kernels.h).
template <bool kFma>
inline void adam_element(const AdamRange& r, int64_t i) {
  float p = r.param[i];
  float v;
  if (r.pass != AdamPass::kApply) {
    float g = r.grad[i];
    if (r.weight_decay != 0.0f) g = madd<kFma>(p, r.weight_decay, g);  // grad.add(p, wd)
    r.exp_avg[i] = madd<kFma>(g, r.one_minus_beta1, r.exp_avg[i] * r.beta1);
    v = madd<kFma>(r.one_minus_beta2 * g, g, r.exp_avg_sq[i] * r.beta2);
    r.exp_avg_sq[i] = v;
    if (r.max_exp_avg_sq) {
      v = maximum(r.max_exp_avg_sq[i], v);
      r.max_exp_avg_sq[i] = v;
    }
    if (r.pass == AdamPass::kMoments) return;
  }
  if (r.decay != 1.0f) p = p * r.decay;  // AdamW: p.mul_(1 - lr * wd), which nothing above reads
  const float root = r.pass == AdamPass::kApply ? r.sqrt_second_moment[i] : std::sqrt(v);
  const float denom = root / r.bias_correction2_sqrt + r.eps;
  r.param[i] = p + (r.neg_step_size * r.exp_avg[i]) / denom;  // addcdiv_: p + value * m / denom
}

template <bool kFma, typename T>
void adam_range(const AdamRange& r, int64_t begin, int64_t end) {
  int64_t i = begin;
  if constexpr (!std::is_same_v<T, Scalar>) {
    using V = typename T::V;
    const V decay = T::set(r.decay), weight_decay = T::set(r.weight_decay), beta1 = T::set(r.beta1),
            one_minus_beta1 = T::set(r.one_minus_beta1), beta2 = T::set(r.beta2),
            one_minus_beta2 = T::set(r.one_minus_beta2), bc2_sqrt = T::set(r.bias_correction2_sqrt),
            eps = T::set(r.eps), neg_step_size = T::set(r.neg_step_size);
    const bool decoupled = r.decay != 1.0f, l2 = r.weight_decay != 0.0f;
    for (; i + T::kSize <= end; i += T::kSize) {
      V p = T::load(r.param + i);
      V m, v;
      if (r.pass != AdamPass::kApply) {
        V g = T::load(r.grad + i);
        if (l2) g = T::madd(p, weight_decay, g);
        m = T::madd(g, one_minus_beta1, T::mul(T::load(r.exp_avg + i), beta1));
        v = T::madd(T::mul(one_minus_beta2, g), g, T::mul(T::load(r.exp_avg_sq + i), beta2));
        T::store(r.exp_avg + i, m);
        T::store(r.exp_avg_sq + i, v);
        if (r.max_exp_avg_sq) {
          v = T::max(T::load(r.max_exp_avg_sq + i), v);
          T::store(r.max_exp_avg_sq + i, v);
        }
        if (r.pass == AdamPass::kMoments) continue;
      } else {
        m = T::load(r.exp_avg + i);
      }
      if (decoupled) p = T::mul(p, decay);
      const V root = r.pass == AdamPass::kApply ? T::load(r.sqrt_second_moment + i) : T::sqrt(v);
      const V denom = T::add(T::div(root, bc2_sqrt), eps);
      T::store(r.param + i, T::add(p, T::div(T::mul(neg_step_size, m), denom)));
    }
  }
  for (; i < end; ++i) adam_element<kFma>(r, i);
}

template <bool kFma>
inline void sgd_element(const SgdRange& r, int64_t i) {
  const float p = r.param[i];
  float d = r.grad[i];
  if (r.weight_decay != 0.0f) d = madd<kFma>(p, r.weight_decay, d);  // d_p.add(p, wd)
  if (r.momentum_buffer) {
    const float buf = r.first_step ? d : madd<kFma>(d, r.one_minus_dampening, r.momentum_buffer[i] * r.momentum);
    r.momentum_buffer[i] = buf;
    d = r.nesterov ? madd<kFma>(buf, r.momentum, d) : buf;  // d_p.add(buf, momentum)
  }
  r.param[i] = madd<kFma>(d, r.neg_lr, p);  // p.add_(d_p, -lr)
}

template <bool kFma, typename T>
void sgd_range(const SgdRange& r, int64_t begin, int64_t end) {
  int64_t i = begin;
  if constexpr (!std::is_same_v<T, Scalar>) {
    using V = typename T::V;
    const V weight_decay = T::set(r.weight_decay), momentum = T::set(r.momentum),
            one_minus_dampening = T::set(r.one_minus_dampening), neg_lr = T::set(r.neg_lr);
    const bool l2 = r.weight_decay != 0.0f;
    for (; i + T::kSize <= end; i += T::kSize) {
      const V p = T::load(r.param + i);
      V d = T::load(r.grad + i);
      if (l2) d = T::madd(p, weight_decay, d);
      if (r.momentum_buffer) {
        const V buf = r.first_step
                          ? d
                          : T::madd(d, one_minus_dampening, T::mul(T::load(r.momentum_buffer + i), momentum));
        T::store(r.momentum_buffer + i, buf);
        d = r.nesterov ? T::madd(buf, momentum, d) : buf;
      }
      T::store(r.param + i, T::madd(d, neg_lr, p));
    }
  }
  for (; i < end; ++i) sgd_element<kFma>(r, i);
}

}  // namespace
}  // namespace tempo::fused
