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
#include <map>
#include <string>
#include <vector>

namespace tempo {

class Dataset {
 public:
  virtual ~Dataset();
  virtual int64_t size() const = 0;
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
  // Whether get_batch reports Batch::num_tokens (text data). The trainer refuses a max_duration in
  // tokens for a training set that counts none: such a run would never end.
  virtual bool counts_tokens() const { return false; }

  // What the samples depend on beyond the files (statistics computed from the training rows, such
  // as CsvDataset's standardization mean and std), by name; empty by default. A training set's go
  // into the checkpoint under state/dataset_state/train/dataset/<name>.
  virtual std::map<std::string, at::Tensor> state_tensors() const { return {}; }
  // On resume, with the tensors the checkpoint saved (`path` names where, for messages): the
  // default requires exactly this dataset's state_tensors(), same names, dtypes, shapes and
  // values, so a run never resumes on data prepared differently from what the model trained on.
  // Throws CheckpointError naming the tensor (and the first differing element) otherwise.
  virtual void check_state_tensors(const std::map<std::string, at::Tensor>& saved, const std::string& path) const;
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
