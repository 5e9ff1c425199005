// The fused optimizers' AVX2+FMA kernels: optim/fused_kernels_impl.h compiled with -mavx2 -mfma
// (CMakeLists.txt sets them for this file only, where the compiler takes them). fused_kernels.cpp
// calls these only on a CPU that has AVX2 and FMA and only when ATen's own kernels round a
// multiply-add once, which is what these do.
#if defined(__AVX2__) && defined(__FMA__)

#include "tempo/optim/fused_kernels_impl.h"

namespace tempo::fused {

void adam_avx2(const AdamRange& range, int64_t begin, int64_t end) {
  adam_range</*kFma=*/true, Avx2>(range, begin, end);
}

void sgd_avx2(const SgdRange& range, int64_t begin, int64_t end) {
  sgd_range</*kFma=*/true, Avx2>(range, begin, end);
}

}  // namespace tempo::fused

#endif
