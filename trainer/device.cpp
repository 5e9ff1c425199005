#include "tempo/trainer/device.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include "tempo/errors/error.h"

namespace tempo {

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int64_t index = 0;
    if (name.size() > 5) {
      const auto digits = name.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw ConfigError(fmt::format("device '{}': expected 'cuda:N' with N a GPU index", name));
      }
      index = std::stoll(digits);
    }
    if (!torch::cuda::is_available()) {
      throw ConfigError(fmt::format("device '{}': this LibTorch build or machine has no CUDA GPU; use 'cpu' or 'auto'",
                                    name));
    }
    if (index >= static_cast<int64_t>(torch::cuda::device_count())) {
      throw ConfigError(fmt::format("device '{}': only {} CUDA device(s) present", name, torch::cuda::device_count()));
    }
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw ConfigError(fmt::format("device '{}': expected 'cpu', 'cuda', 'cuda:N' or 'auto'", name));
}

}  // namespace tempo
