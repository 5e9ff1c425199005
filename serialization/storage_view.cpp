#include "tempo/serialization/storage_view.h"

#include <ATen/ATen.h>

#include "tempo/errors/error.h"

namespace tempo {

at::Tensor storage_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& strides, const std::string& what) {
  const auto fail = [&](const std::string& why) {
    throw CheckpointError("checkpoint '" + what + "': " + why);
  };
  if (sizes.size() != strides.size()) fail("tensor size and stride have different lengths");
  if (sizes.size() > 64) fail("tensor has more than 64 dimensions");
  if (offset < 0) fail("tensor has a negative storage offset");
  bool empty = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) fail("tensor has a negative size or stride");
    empty = empty || sizes[d] == 0;
  }
  // The last element the view can address is offset + sum((size - 1) * stride).
  int64_t last = offset;
  for (size_t d = 0; d < sizes.size() && !empty; ++d) {
    int64_t step = 0;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &step) || __builtin_add_overflow(last, step, &last))
      fail("tensor size and stride overflow");
  }
  const int64_t numel = storage.numel();
  if (empty ? offset > numel : last >= numel)
    fail("tensor of size " + c10::str(at::IntArrayRef(sizes)) + " reaches past its storage of " +
         std::to_string(numel) + " elements");
  return at::empty({0}, storage.options())
      .set_(storage.storage(), storage.storage_offset() + offset, sizes, strides);
}

}  // namespace tempo
