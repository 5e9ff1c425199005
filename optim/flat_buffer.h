// FlatBuffers: the memory of a fused optimizer (optim/fused_sgd.h, optim/fused_adam.h). All of
// its parameters live in one contiguous float32 allocation, their gradients in a second and each
// kind of per-parameter state (exp_avg, momentum_buffer, ...) in one more, every parameter at the
// same offset in each, so one pass over the buffers steps every parameter.
//
// The model keeps its own Parameter objects: build() moves each one's values into the flat buffer
// and points the parameter there (Tensor::set_ under NoGradGuard), so the modules, the trainer and
// the state dicts see the same tensors as before. What points into the buffers is plain tensors
// over their storage (not autograd views, which zero_grad's detach_() refuses).
//
// Gradients and state are adopted lazily, at each step, because other code may replace them
// (except gradients that are views of another buffer, DDP's buckets: those are read in place):
//   - a gradient that is not this buffer's tensor (the first backward creates one; a user, a
//     gradient clipper or a loss scaler may assign another) is copied in and the parameter's grad
//     becomes the buffer's tensor, so later backward passes accumulate into the buffer in place
//     and the copy happens once. A parameter without a gradient stays without one (and is not
//     stepped, as PyTorch skips it).
//   - a state tensor that is not this buffer's (load_optimizer_state_dict installs fresh tensors)
//     is copied in, and the state entry then holds the buffer's tensor.
// Parameters that cannot share one float32 CPU allocation (see why_not) are not flattened; the
// optimizer then takes its parent's plain step.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tempo {

class FlatBuffers {
 public:
  // Buffer 0 holds the parameters, buffer 1 the gradients, buffers 2 .. 1 + num_state the
  // optimizer's per-parameter state, each allocated when first used.
  static constexpr size_t kParams = 0;
  static constexpr size_t kGrads = 1;
  explicit FlatBuffers(size_t num_state);

  // Why these parameters cannot be flattened ("parameters on cuda:0", "a parameter of type
  // Double", ...), or "" when they can: all defined, dense, float32, on the CPU, not views, each
  // listed once and none sharing its memory with another tensor (flattening would untie it).
  std::string why_not(const std::vector<torch::optim::OptimizerParamGroup>& groups) const;
  // Whether the parameters of these groups are still, in order, the ones build() placed, where it
  // placed them (false before the first build, after add_param_group, or after something like
  // Module::to() moved a parameter).
  bool bound(const std::vector<torch::optim::OptimizerParamGroup>& groups) const;
  // Moves the parameters into new buffers, keeping their values; gradients and state are copied
  // over at the next adopt_grad / adopt (their old tensors stay valid until then).
  void build(const std::vector<torch::optim::OptimizerParamGroup>& groups);

  // Where the step reads the gradient of the parameter at `index` (its position across the
  // groups, in order): null when it has none. A gradient that is an autograd view of other memory,
  // dense, contiguous float32 on the CPU (DDP's gradient_as_bucket_view makes each gradient a view
  // of the Reducer's bucket) is read where it is: copying it would undo what the views save.
  // Any other becomes, after this call, the buffer's tensor. Throws Error for a sparse gradient
  // or one whose shape is not the parameter's.
  float* adopt_grad(size_t index, const at::Tensor& param);
  // Makes `state` the buffer's tensor for this parameter, copying its values in when it is
  // another tensor and zeroing it when it is undefined. Throws Error when its size differs.
  void adopt(size_t buffer, size_t index, at::Tensor& state);
  // The buffer's tensor for this parameter, as it is (zeroed: also zeroes it).
  at::Tensor view(size_t buffer, size_t index);
  at::Tensor zeroed(size_t buffer, size_t index);
  float* data(size_t buffer, size_t index) const;
  // The start of a buffer in use: every parameter's elements are at the same offset from it.
  float* base(size_t buffer) const { return buffers_[buffer].data_ptr<float>(); }

  // A buffer of total() floats that is no parameter's and no state's, kept from step to step so
  // that a step needing room for a whole-buffer intermediate (FusedAdam's square roots where
  // ATen's sqrt must be used) allocates nothing. Its contents are whatever was left there.
  at::Tensor& scratch(size_t slot);

  int64_t numel(size_t index) const { return segments_[index].numel; }
  // Elements in each buffer, alignment padding included.
  int64_t total() const { return total_; }
  // Gradients and state tensors copied in because they were not the buffer's own (the first step's
  // gradients, a loaded checkpoint's state, a replaced gradient): a count for tests.
  int64_t copies() const { return copies_; }

 private:
  struct Segment {
    const c10::TensorImpl* param;
    int64_t offset;
    int64_t numel;
    std::vector<int64_t> sizes;
  };
  bool is_view(size_t buffer, size_t index, const at::Tensor& t) const;
  at::Tensor& buffer(size_t buffer);

  std::vector<Segment> segments_;
  std::vector<at::Tensor> buffers_;  // 1-D float tensors of total_ elements; undefined until used
  std::vector<at::Tensor> scratch_;
  int64_t total_ = 0;
  int64_t copies_ = 0;
  bool built_ = false;
};

// What FusedSGD, FusedAdam and FusedAdamW share: their flat buffers and the rule for when a step
// is fused. A test or a benchmark reaches it with dynamic_cast from the optimizer.
class FusedOptimizer {
 public:
  virtual ~FusedOptimizer() = default;
  FusedOptimizer(const FusedOptimizer&) = delete;
  FusedOptimizer& operator=(const FusedOptimizer&) = delete;
  // Whether the next step() runs fused: the parameters are, or can be, flattened.
  bool fused() const { return fallback_reason().empty(); }
  // Why the next step() takes the parent optimizer's plain step ("parameters on cuda:0"), or "".
  std::string fallback_reason() const;
  const FlatBuffers& flat() const { return flat_; }
  // Run first by each step(): (re)builds the buffers when the parameters are not where the last
  // build put them; false when they cannot be flattened and the plain step must run. The trainer
  // also runs it before DDP's Reducer is made: the Reducer must see the parameters where they stay.
  bool prepare();

 protected:
  FusedOptimizer(const torch::optim::Optimizer& self, size_t num_state) : self_(self), flat_(num_state) {}

  const torch::optim::Optimizer& self_;
  FlatBuffers flat_;
};

}  // namespace tempo
