#include "data/batch.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "errors/error.h"

namespace tempo {

int64_t Batch::size() const { return input.defined() ? input.size(0) : 0; }

Batch Batch::to(const c10::Device& device, bool non_blocking) const {
  auto move = [&](const at::Tensor& t) {
    return t.defined() ? t.to(t.options().device(device), non_blocking) : t;
  };
  return Batch{move(input), move(target)};
}

Batch Batch::narrow(int64_t start, int64_t length) const {
  if (start < 0 || length <= 0 || start + length > size()) {
    throw DataError(fmt::format("Batch::narrow({}, {}): outside the batch's {} samples", start, length, size()));
  }
  auto slice = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, start, length) : t; };
  return Batch{slice(input), slice(target)};
}

}  // namespace tempo
