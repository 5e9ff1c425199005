// GradScaler: dynamic loss scaling for float16 mixed precision, PyTorch's
// torch.cuda.amp.GradScaler in C++ (LibTorch 1.13 has none, and its fused _amp_* kernels are
// CUDA-only). The loss is multiplied by `scale` before backward so small float16 gradients do not
// flush to zero; unscale_() divides the gradients back and records whether any is inf/NaN; step()
// skips the optimizer step when one was; update() halves the scale after an overflow and doubles
// it after `growth_interval` clean steps (a grown scale that would be inf is not taken).
// Call order per batch, as in PyTorch: scale(loss).backward(), [unscale_(opt)], step(opt) for
// each optimizer, then update() once.
//
// The state survives a checkpoint as PyTorch's GradScaler.state_dict(): {scale, growth_factor,
// backoff_factor, growth_interval, _growth_tracker}; loading it replaces the options too, as
// PyTorch does. The scale is kept as a float32, like PyTorch's scale tensor, so a scale saved by
// either side resumes exactly.
//
// Throws ConfigError for options PyTorch rejects (growth_factor <= 1, backoff_factor outside
// (0, 1), growth_interval <= 0, init_scale not positive and finite); Error for calls out of order
// (unscale_ twice or after step, step twice, update with nothing unscaled) and float16
// gradients (which PyTorch refuses to unscale too); CheckpointError from load_state_dict.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace tempo {

struct GradScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;  // 2**16
  TORCH_ARG(double, growth_factor) = 2.0;
  TORCH_ARG(double, backoff_factor) = 0.5;
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(const GradScalerOptions& options = GradScalerOptions());

  // loss * scale (a new tensor; the graph goes through it).
  at::Tensor scale(const at::Tensor& loss) const;
  // Divides the gradients of `optimizer`'s parameters by the scale, in place, and records whether
  // any of them held an inf or NaN (checked before dividing, as PyTorch's kernel does).
  void unscale_(torch::optim::Optimizer& optimizer);
  // unscale_() if not done yet, then optimizer.step() unless an inf/NaN was found. Returns
  // whether the optimizer stepped.
  bool step(torch::optim::Optimizer& optimizer);
  // Adjusts the scale from every optimizer unscaled since the last update, and forgets them.
  void update();

  double get_scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  double growth_factor() const { return growth_factor_; }
  double backoff_factor() const { return backoff_factor_; }
  int64_t growth_interval() const { return growth_interval_; }
  // Whether an optimizer unscaled since the last update() had an inf/NaN gradient.
  bool found_inf() const;

  c10::IValue state_dict() const;
  // Takes back a state_dict(); `path` names the tree in messages. Checks everything before
  // changing anything.
  void load_state_dict(const c10::IValue& tree, const std::string& path);

 private:
  struct Unscaled {
    const torch::optim::Optimizer* optimizer;
    bool found_inf;
    bool stepped;
  };
  Unscaled* find(const torch::optim::Optimizer& optimizer);

  float scale_;
  double growth_factor_;
  double backoff_factor_;
  int64_t growth_interval_;
  int64_t growth_tracker_ = 0;
  std::vector<Unscaled> unscaled_;  // since the last update(); cleared, not freed
};

}  // namespace tempo
