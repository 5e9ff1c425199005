#include "tempo/state/rng.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <mutex>

#include "tempo/errors/error.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

at::Tensor get_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_state(at::Generator generator, const at::Tensor& state, const std::string& path) {
  try {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  } catch (const c10::Error& e) {
    throw CheckpointError(fmt::format("state tree: '{}' is not a generator state: {}", path,
                                      e.what_without_backtrace()));
  }
}

// The same call on LibTorch 1.13 and 2.x (the CUDA hooks' getDefaultCUDAGenerator is 1.13 only).
at::Generator cuda_generator(int64_t device) {
  return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device)));
}

}  // namespace

void seed_all(uint64_t seed) { torch::manual_seed(seed); }

c10::IValue rng_state_dict() {
  auto dict = new_tree_dict();
  dict.insert("torch", get_state(at::detail::getDefaultCPUGenerator()));
  if (torch::cuda::is_available()) {
    c10::List<at::Tensor> cuda;
    for (int64_t d = 0; d < static_cast<int64_t>(torch::cuda::device_count()); ++d) {
      cuda.push_back(get_state(cuda_generator(d)));
    }
    dict.insert("cuda", cuda);
  }
  return dict;
}

void load_rng_state_dict(const c10::IValue& rng) {
  auto dict = tree_dict(rng, "rng");
  set_state(at::detail::getDefaultCPUGenerator(), tree_tensor(dict, "torch", "rng"), "rng/torch");
  if (tree_has(dict, "cuda") && torch::cuda::is_available()) {
    auto list = tree_at(dict, "cuda", "rng").toList();
    const auto devices = std::min<int64_t>(list.size(), torch::cuda::device_count());
    for (int64_t d = 0; d < devices; ++d) {
      set_state(cuda_generator(d), list.get(d).toTensor(), fmt::format("rng/cuda/{}", d));
    }
  }
}

}  // namespace tempo
