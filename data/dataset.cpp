#include "tempo/data/dataset.h"

#include "tempo/errors/error.h"

#include <torch/torch.h>

#include <string>

namespace tempo {

Dataset::~Dataset() = default;

void Dataset::check_state_tensors(const std::map<std::string, at::Tensor>& saved, const std::string& path) const {
  const auto mine = state_tensors();
  auto names = [](const std::map<std::string, at::Tensor>& tensors) {
    std::string out;
    for (const auto& entry : tensors) out += (out.empty() ? "" : ", ") + entry.first;
    return out.empty() ? std::string("none") : out;
  };
  for (const auto& [name, tensor] : mine) {
    const auto it = saved.find(name);
    if (it == saved.end()) {
      throw CheckpointError(path + ": the checkpoint holds no '" + name + "' (it holds: " + names(saved) +
                            "), which this run's training set depends on; it was saved with other data");
    }
    const auto& old = it->second;
    if (old.scalar_type() != tensor.scalar_type() || old.sizes() != tensor.sizes()) {
      throw CheckpointError(path + "/" + name + ": saved as " + std::string(c10::toString(old.scalar_type())) + " " +
                            c10::str(old.sizes()) + " but this run's training set has " +
                            std::string(c10::toString(tensor.scalar_type())) + " " + c10::str(tensor.sizes()) +
                            "; the training data changed since the checkpoint");
    }
    const auto a = old.to(torch::kCPU).contiguous().reshape({-1});
    const auto b = tensor.to(torch::kCPU).contiguous().reshape({-1});
    if (!torch::equal(a, b)) {
      const int64_t at = a.ne(b).nonzero().view({-1})[0].item<int64_t>();
      throw CheckpointError(path + "/" + name + ": element " + std::to_string(at) + " was " +
                            c10::str(a[at].item()) + " in the checkpoint but is " + c10::str(b[at].item()) +
                            " for this run's training set: the training data (or its preparation) changed since the "
                            "checkpoint, so the model would see differently prepared samples");
    }
  }
  for (const auto& entry : saved) {
    if (!mine.count(entry.first)) {
      throw CheckpointError(path + ": the checkpoint holds '" + entry.first + "', which this run's training set does "
                            "not have (it has: " + names(mine) + "); it was saved with other data");
    }
  }
}

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
