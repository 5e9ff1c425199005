#include "data/batch.h"

#include <torch/torch.h>

namespace tempo {

int64_t Batch::size() const { return input.defined() ? input.size(0) : 0; }

Batch Batch::to(const c10::Device& device, bool non_blocking) const {
  auto move = [&](const at::Tensor& t) {
    return t.defined() ? t.to(t.options().device(device), non_blocking) : t;
  };
  return Batch{move(input), move(target)};
}

}  // namespace tempo
