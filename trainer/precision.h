// Numeric precision of training, Composer's `precision`:
//   fp32      everything in float32 (the default).
//   amp_bf16  autocast to bfloat16 around the forward pass and the loss (LibTorch's CPU autocast,
//             or CUDA autocast on a GPU); parameters, gradients and the optimizer stay float32.
//   amp_fp16  autocast to float16 plus a GradScaler (state/grad_scaler.h). CUDA only: LibTorch
//             1.13's CPU autocast accepts only bfloat16 ("AutocastCPU only support Bfloat16"),
//             and float16 without autocast would be fp32 under another name, so amp_fp16 on the
//             CPU is refused rather than quietly run in fp32. Loss scaling alone is available on
//             any device through TrainerOptions::grad_scaler.
// AutocastGuard is the RAII region the trainer opens around forward and around loss (never
// around backward or the events, as in Composer's get_precision_context); for fp32 it does
// nothing at all.
// Throws ConfigError from parse_precision (an unknown name) and check_precision (amp_fp16 on CPU).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace tempo {

enum class Precision { FP32, AMP_BF16, AMP_FP16 };

// "fp32", "amp_bf16", "amp_fp16".
Precision parse_precision(const std::string& name);
std::string to_string(Precision precision);

// Whether `precision` can run on `device`; throws ConfigError saying what to use instead.
void check_precision(Precision precision, const c10::Device& device);

class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const c10::Device& device) {
    if (precision != Precision::FP32) enter(precision, device);
  }
  ~AutocastGuard() {
    if (active_) exit();
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  void enter(Precision precision, const c10::Device& device);
  void exit();

  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Undefined;
};

}  // namespace tempo
