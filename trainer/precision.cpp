#include "tempo/trainer/precision.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "amp_bf16") return Precision::AMP_BF16;
  if (name == "amp_fp16") return Precision::AMP_FP16;
  throw ConfigError(fmt::format("precision: expected fp32, amp_bf16 or amp_fp16, got \"{}\"", name));
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::FP32: return "fp32";
    case Precision::AMP_BF16: return "amp_bf16";
    case Precision::AMP_FP16: return "amp_fp16";
  }
  return "unknown";
}

void check_precision(Precision precision, const c10::Device& device) {
  if (precision == Precision::AMP_FP16 && !device.is_cuda()) {
    throw ConfigError(fmt::format(
        "precision amp_fp16 needs a CUDA device (device is {}): LibTorch 1.13's CPU autocast supports only bfloat16; "
        "use amp_bf16 on the CPU", device.str()));
  }
  if (precision != Precision::FP32 && !device.is_cuda() && !device.is_cpu()) {
    throw ConfigError(fmt::format("precision {} is not supported on device {}", to_string(precision), device.str()));
  }
}

// As Python's torch.autocast: remember the previous setting, enable, count the nesting; on the
// way out drop the cast-weight cache when the outermost region closes and restore the setting.
void AutocastGuard::enter(Precision precision, const c10::Device& device) {
  const auto dtype = precision == Precision::AMP_FP16 ? at::kHalf : at::kBFloat16;
  cuda_ = device.is_cuda();
  if (cuda_) {
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);  // throws for anything but bfloat16 in 1.13
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
  active_ = true;
}

void AutocastGuard::exit() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

}  // namespace tempo
