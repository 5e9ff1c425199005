// libFuzzer target: the unpickler alone. In a whole checkpoint, the CRCs stop nearly every
// mutated pickle before it is parsed, so this target feeds data.pkl bytes straight to
// unpickle_tree. Storages are served as the checkpoint reader serves them: the declared element
// count must fit a bound (here 1 MiB, standing in for "the bytes in the file"), else
// CheckpointError. Loads or throws tempo::CheckpointError; anything else is a finding.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tempo/errors/error.h"
#include "tempo/serialization/pickle_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const tempo::StorageLoader load = [](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    uint64_t bytes = 0;
    if (numel < 0 || __builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &bytes) ||
        bytes > (uint64_t{1} << 20)) {
      throw tempo::CheckpointError("storage '" + key + "' is too large");
    }
    return at::zeros({numel}, at::TensorOptions().dtype(dtype));
  };
  try {
    tempo::unpickle_tree(std::string_view(reinterpret_cast<const char*>(data), size), load, "fuzz input");
  } catch (const tempo::CheckpointError&) {
  }
  return 0;
}
