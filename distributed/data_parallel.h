// DataParallel: PyTorch DistributedDataParallel's semantics for one model replica per rank,
// run by DDP's own engine, c10d's Reducer (torch/csrc/distributed/c10d/reducer.hpp, the C++
// object Python's DDP drives): parameters and buffers go from rank 0 to every rank when it is
// made; gradients are averaged across ranks by all-reduces of ~25 MB buckets (the first 1 MB, as
// DDP) that start as soon as backward has produced a bucket's gradients, in backward order, so
// communication overlaps the rest of backward. Gradient accumulation syncs only the step's last
// microbatch (DDP's no_sync, Composer's ddp_sync_strategy "single_auto_sync").
//
// Use: arm(sync) before each backward (sync on the last microbatch of an optimizer step only),
// before_forward() before each step's first forward (buffers from rank 0, DDP's
// broadcast_buffers), then backward as usual: when it returns, every parameter's .grad holds
// the mean over ranks. Parameters must be leaf tensors that require grad; every one of them must
// get a gradient in each synced backward (find_unused_parameters is not offered).
//
// Throws: DistributedError when the ranks' parameters differ in number, shape or type (checked
// at construction, by c10d's verify_params_across_processes) and, from backward, when a bucket's
// all-reduce fails (Communicator::fail names the peer).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

#include "tempo/distributed/communicator.h"

namespace c10d {
class Reducer;
}

namespace tempo {

struct DataParallelOptions {
  // The cap of each gradient bucket, DDP's bucket_cap_mb.
  TORCH_ARG(int64_t, bucket_cap_mb) = 25;
  // Rank 0's buffers (BatchNorm's running statistics) to every rank before each step, DDP's default.
  TORCH_ARG(bool, broadcast_buffers) = true;
  // DDP's gradient_as_bucket_view: each parameter's .grad becomes a view into its bucket, so the
  // Reducer neither copies gradients into the buckets nor back (measured on a 24M-parameter MLP:
  // those copies are ~12% of a 2-rank step here; benchmarks/bench_distributed.cpp). It pays only
  // while the gradients stay those views: zero them in place (state/torch_compat.h's
  // zero_grad_in_place), not by setting them to None; tempo's fused optimizers read them in place.
  // The Trainer turns it on.
  TORCH_ARG(bool, gradient_as_bucket_view) = false;
};

class DataParallel {
 public:
  // `names[i]` names parameters[i] in errors.
  DataParallel(std::shared_ptr<Communicator> comm, std::vector<at::Tensor> parameters, std::vector<std::string> names,
               std::vector<at::Tensor> buffers, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // Rank 0's parameters and buffers to every rank (the constructor does it once).
  void sync_module_states();
  // Before the first forward of an optimization step.
  void before_forward();
  // Before a backward: with sync, its gradients are all-reduced during it; without, they
  // accumulate locally (no_sync).
  void arm(bool sync);
  // The number of gradient buckets.
  size_t num_buckets() const { return num_buckets_; }

 private:
  std::shared_ptr<Communicator> comm_;
  std::vector<at::Tensor> parameters_;
  std::vector<at::Tensor> buffers_;
  DataParallelOptions options_;
  std::unique_ptr<c10d::Reducer> reducer_;
  size_t num_buckets_ = 0;
};

}  // namespace tempo
