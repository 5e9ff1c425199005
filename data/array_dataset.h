// Samples that are rows of two arrays, inputs and targets, as the npy and safetensors datasets
// read them, optionally restricted to the rows of one split (data/row_split.h). The arrays may be
// views of a file's memory mapping (data/npy_file.h): a batch is gathered with index_select, so it
// is a fresh tensor and the mapping is only read.
// Invariants: input and target share their first dimension; size() is the number of rows of the
// split (>= 1); sample i is row rows()[i] of the arrays, dtypes and trailing shapes as stored.
// get_batch is const and thread-safe.
// Throws: DataError naming both sources and their shapes when the first dimensions differ or an
// array has no dimension, and as split_rows; DataError for an index out of range.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tempo/data/dataset.h"
#include "tempo/data/row_split.h"

namespace tempo {

// Which rows of the arrays a dataset holds; the default (val_fraction 0) is all of them.
struct RowSplitOptions {
  TORCH_ARG(DataSplit, split) = DataSplit::TRAIN;
  TORCH_ARG(double, val_fraction) = 0.0;
  TORCH_ARG(uint64_t, split_seed) = 0;
};

class ArrayDataset : public Dataset {
 public:
  // `input_source` and `target_source` name the arrays in messages ("x.npy").
  ArrayDataset(at::Tensor input, at::Tensor target, const std::string& input_source,
               const std::string& target_source, const RowSplitOptions& split = {});

  int64_t size() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;

  const at::Tensor& input() const { return input_; }
  const at::Tensor& target() const { return target_; }
  const std::vector<int64_t>& rows() const { return rows_; }

 private:
  at::Tensor input_;
  at::Tensor target_;
  std::vector<int64_t> rows_;
  bool all_rows_ = false;
};

}  // namespace tempo
