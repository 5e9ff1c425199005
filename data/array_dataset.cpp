#include "tempo/data/array_dataset.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "tempo/errors/error.h"

namespace tempo {

ArrayDataset::ArrayDataset(at::Tensor input, at::Tensor target, const std::string& input_source,
                           const std::string& target_source, const RowSplitOptions& split)
    : input_(std::move(input)), target_(std::move(target)) {
  if (!input_.defined() || input_.dim() < 1 || !target_.defined() || target_.dim() < 1) {
    throw DataError(fmt::format("{} (shape {}) and {} (shape {}): inputs and targets need a first dimension, "
                                "the samples",
                                input_source, input_.defined() ? c10::str(input_.sizes()) : "undefined",
                                target_source, target_.defined() ? c10::str(target_.sizes()) : "undefined"));
  }
  if (input_.size(0) != target_.size(0)) {
    throw DataError(fmt::format("{} has shape {} but {} has shape {}: inputs and targets must have the same first "
                                "dimension (one row per sample)",
                                input_source, c10::str(input_.sizes()), target_source, c10::str(target_.sizes())));
  }
  rows_ = split_rows(input_.size(0), split.split(), split.val_fraction(), split.split_seed(), input_source);
  all_rows_ = static_cast<int64_t>(rows_.size()) == input_.size(0);
}

int64_t ArrayDataset::size() const { return static_cast<int64_t>(rows_.size()); }

Batch ArrayDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  auto index = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
  int64_t* out = index.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= n) {
      throw DataError(fmt::format("ArrayDataset: index {} (position {} of the request) is outside [0, {})", indices[i],
                                  i, n));
    }
    out[i] = all_rows_ ? indices[i] : rows_[static_cast<size_t>(indices[i])];
  }
  return Batch{input_.index_select(0, index), target_.index_select(0, index)};
}

}  // namespace tempo
