#include "tempo/data/batch.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "tempo/errors/error.h"

namespace tempo {

int64_t Batch::size() const { return input.defined() ? input.size(0) : 0; }

Batch Batch::to(const c10::Device& device, bool non_blocking) const {
  auto move = [&](const at::Tensor& t) {
    return t.defined() ? t.to(t.options().device(device), non_blocking) : t;
  };
  return Batch{move(input), move(target), num_tokens};
}

Batch Batch::narrow(int64_t start, int64_t length) const {
  if (start < 0 || length <= 0 || start + length > size()) {
    throw DataError(fmt::format("Batch::narrow({}, {}): outside the batch's {} samples", start, length, size()));
  }
  auto slice = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, start, length) : t; };
  return Batch{slice(input), slice(target), size() > 0 ? num_tokens / size() * length : 0};
}

Batch Batch::cat(const std::vector<Batch>& parts) {
  if (parts.empty()) throw DataError("Batch::cat: no batches to join");
  if (parts.size() == 1) return parts[0];
  auto join = [&](at::Tensor Batch::*member, const char* what) {
    const at::Tensor& first = parts[0].*member;
    std::vector<at::Tensor> tensors;
    for (size_t i = 0; i < parts.size(); ++i) {
      const at::Tensor& t = parts[i].*member;
      if (t.defined() != first.defined() || (t.defined() && (t.dim() != first.dim() || t.dim() == 0 ||
                                                             t.sizes().slice(1) != first.sizes().slice(1) ||
                                                             t.scalar_type() != first.scalar_type() ||
                                                             t.device() != first.device()))) {
        auto describe = [](const at::Tensor& x) {
          return x.defined() ? fmt::format("{} {} on {}", fmt::join(x.sizes(), "x"), c10::toString(x.scalar_type()),
                                           x.device().str())
                             : std::string("none");
        };
        throw DataError(fmt::format(
            "cannot join loader batches into one step: batch 0's {} is {} but batch {}'s is {} (the batches "
            "accumulated into one optimizer step must agree in everything but the number of samples)",
            what, describe(first), i, describe(t)));
      }
      if (t.defined()) tensors.push_back(t);
    }
    return first.defined() ? torch::cat(tensors) : first;
  };
  int64_t tokens = 0;
  for (const auto& part : parts) tokens += part.num_tokens;
  return Batch{join(&Batch::input, "input"), join(&Batch::target, "target"), tokens};
}

}  // namespace tempo
