// One batch of samples as the loader hands it to the trainer: inputs and targets whose first
// dimension is the sample dimension. at::Tensor is the same type as torch::Tensor; the narrow
// header keeps this include cheap for every layer above data/.
// Invariant (kept by the loader, not enforced here): input.size(0) == target.size(0).
// Throws only what LibTorch throws when moving tensors, and DataError from narrow().
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace tempo {

struct Batch {
  at::Tensor input;
  at::Tensor target;
  // Tokens in the batch, for data sets that count them (Composer's get_num_tokens_in_batch): the
  // trainer adds them to Timestamp.token, so `tok` durations and intervals, `{token}` in file
  // names and tokens/s in speed_monitor are real. 0 for data without tokens. Every sample of a
  // token-counting batch holds the same number of tokens (num_tokens % size() == 0).
  int64_t num_tokens = 0;

  // Number of samples; 0 for a default-constructed batch.
  int64_t size() const;

  // Both tensors on `device`; tensors already there are shared, not copied.
  Batch to(const c10::Device& device, bool non_blocking = false) const;

  // Samples [start, start + length) as views of these tensors (no copy; writes go through), as
  // the trainer's microbatches. Throws DataError unless 0 <= start, 0 < length and
  // start + length <= size(). The slice counts num_tokens / size() tokens per sample.
  Batch narrow(int64_t start, int64_t length) const;

  // The samples of `parts` one after the other, as one batch (a copy; `parts[0]` itself when
  // there is one part), as the trainer's gradient accumulation over loader batches. Throws
  // DataError when `parts` is empty, or when parts' inputs or targets differ in anything but
  // their first dimension (shape beyond it, dtype, device), naming the parts. Tokens add up.
  static Batch cat(const std::vector<Batch>& parts);
};

}  // namespace tempo
