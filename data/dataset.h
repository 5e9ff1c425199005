// The random-access interface the DataLoader reads from, and TensorDataset, a dataset held in two
// tensors. The loader asks for exactly the samples of one batch, in order, so a dataset never has
// to be walked from the start: that is what lets a run resume mid-epoch without replaying data.
// Invariants: size() is constant; get_batch(indices) returns a Batch whose i-th sample is sample
// indices[i], for 0 <= indices[i] < size(). get_batch is const and may be called concurrently.
// Throws: DataError for mismatched tensors or an index out of range.
#pragma once

#include "tempo/data/batch.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace tempo {

class Dataset {
 public:
  virtual ~Dataset();
  virtual int64_t size() const = 0;
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
};

// Samples are rows: input [N, ...] and target [N, ...] (usually [N] class labels). Batches are
// gathered with index_select, so they are fresh contiguous tensors on the tensors' device.
class TensorDataset : public Dataset {
 public:
  TensorDataset(at::Tensor input, at::Tensor target);

  int64_t size() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;

  const at::Tensor& input() const { return input_; }
  const at::Tensor& target() const { return target_; }

 private:
  at::Tensor input_;
  at::Tensor target_;
};

}  // namespace tempo
