#include "tempo/data/dataset.h"

#include "tempo/errors/error.h"

#include <torch/torch.h>

#include <string>

namespace tempo {

Dataset::~Dataset() = default;

TensorDataset::TensorDataset(at::Tensor input, at::Tensor target)
    : input_(std::move(input)), target_(std::move(target)) {
  if (!input_.defined() || !target_.defined()) {
    throw DataError("TensorDataset: input and target must both be defined tensors");
  }
  if (input_.dim() < 1 || target_.dim() < 1) {
    throw DataError("TensorDataset: input and target need a sample dimension, got input of " +
                    std::to_string(input_.dim()) + " dims and target of " +
                    std::to_string(target_.dim()) + " dims");
  }
  if (input_.size(0) != target_.size(0)) {
    throw DataError("TensorDataset: input has " + std::to_string(input_.size(0)) +
                    " samples but target has " + std::to_string(target_.size(0)) +
                    "; they must match");
  }
  if (input_.device() != target_.device()) {
    throw DataError("TensorDataset: input is on " + input_.device().str() + " but target is on " +
                    target_.device().str() + "; they must share a device");
  }
}

int64_t TensorDataset::size() const { return input_.size(0); }

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= n) {
      throw DataError("TensorDataset: index " + std::to_string(indices[i]) + " (position " +
                      std::to_string(i) + " of the request) is outside [0, " + std::to_string(n) +
                      ")");
    }
  }
  // No copy of the indices is needed: index_select reads them before returning and keeps no
  // reference to the index tensor. Off-CPU tensors get the index copied to their device.
  auto index = torch::from_blob(const_cast<int64_t*>(indices.data()),
                                {static_cast<int64_t>(indices.size())}, torch::kInt64);
  if (input_.device() != index.device()) index = index.to(input_.device());
  return Batch{input_.index_select(0, index), target_.index_select(0, index)};
}

}  // namespace tempo
