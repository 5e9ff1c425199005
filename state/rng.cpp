#include "tempo/state/rng.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <mutex>

#include "tempo/errors/error.h"
#include "tempo/state/tree.h"
#include "tempo/util/mt19937.h"

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

// random.getstate() after random.seed(seed): (3, (624 words..., index 624), None).
c10::IValue python_random_state(uint32_t seed) {
  const auto words = mt19937_init_by_array({seed});
  std::vector<c10::IValue> state;
  state.reserve(kMt19937Words + 1);
  for (const auto w : words) state.emplace_back(static_cast<int64_t>(w));
  state.emplace_back(int64_t{kMt19937Words});
  return c10::ivalue::Tuple::create({int64_t{3}, c10::ivalue::Tuple::create(std::move(state)), c10::IValue()});
}

// np.random.get_state() after np.random.seed(seed): ('MT19937', keys, pos 624, has_gauss 0,
// cached_gaussian 0.0), the keys as a list of ints, which set_state takes as well as an array.
c10::IValue numpy_random_state(uint32_t seed) {
  const auto words = mt19937_init_genrand(seed);
  c10::List<int64_t> keys;
  for (const auto w : words) keys.push_back(static_cast<int64_t>(w));
  return c10::ivalue::Tuple::create({std::string("MT19937"), keys, int64_t{kMt19937Words}, int64_t{0}, 0.0});
}

}  // namespace

void seed_all(uint64_t seed) { torch::manual_seed(seed); }

c10::IValue rng_state_dict(uint64_t seed) {
  auto dict = new_tree_dict();
  dict.insert("torch", get_state(at::detail::getDefaultCPUGenerator()));
  if (torch::cuda::is_available()) {
    c10::List<at::Tensor> cuda;
    for (int64_t d = 0; d < static_cast<int64_t>(torch::cuda::device_count()); ++d) {
      cuda.push_back(get_state(cuda_generator(d)));
    }
    dict.insert("cuda", cuda);
  }
  dict.insert("python", python_random_state(static_cast<uint32_t>(seed)));
  dict.insert("numpy", numpy_random_state(static_cast<uint32_t>(seed)));
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
