#include "tempo/optim/fused_adam.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "tempo/optim/fused_kernels.h"
#include "tempo/state/torch_compat.h"

namespace tempo {
namespace {

namespace optim = torch::optim;

// State buffers, after the parameters and gradients.
constexpr size_t kExpAvg = 2;
constexpr size_t kExpAvgSq = 3;
constexpr size_t kMaxExpAvgSq = 4;

// Adam and AdamW differ only in how weight decay enters, so one step serves both. The serial part
// decides, per parameter, exactly what LibTorch's Adam::step decides (skip without a gradient,
// create the state, count the step, the bias corrections); the elements are then updated in one
// parallel pass.
template <typename Options, typename ParamState>
at::Tensor adam_step(optim::Optimizer& self, FlatBuffers& flat, bool decoupled,
                     const optim::Optimizer::LossClosure& closure) {
  torch::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  std::vector<fused::AdamRange> ranges;
  std::vector<int64_t> sizes;
  size_t index = 0;
  for (auto& group : self.param_groups()) {
    const auto& o = static_cast<const Options&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      const size_t i = index++;
      float* grad = flat.adopt_grad(i, p);
      if (grad == nullptr) continue;
      const auto key = tempo::optimizer_state_key(p);
      auto it = self.state().find(key);
      if (it == self.state().end()) {
        auto fresh = std::make_unique<ParamState>();
        fresh->step(0);
        it = self.state().emplace(key, std::move(fresh)).first;
      }
      auto& st = static_cast<ParamState&>(*it->second);
      flat.adopt(kExpAvg, i, st.exp_avg());
      flat.adopt(kExpAvgSq, i, st.exp_avg_sq());
      if (o.amsgrad()) flat.adopt(kMaxExpAvgSq, i, st.max_exp_avg_sq());
      st.step(st.step() + 1);

      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(st.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(st.step()));
      fused::AdamRange r;
      r.param = flat.data(FlatBuffers::kParams, i);
      r.grad = grad;
      r.exp_avg = flat.data(kExpAvg, i);
      r.exp_avg_sq = flat.data(kExpAvgSq, i);
      r.max_exp_avg_sq = o.amsgrad() ? flat.data(kMaxExpAvgSq, i) : nullptr;
      if (o.weight_decay() != 0) {
        if (decoupled) {
          r.decay = static_cast<float>(1 - o.lr() * o.weight_decay());
        } else {
          r.weight_decay = static_cast<float>(o.weight_decay());
        }
      }
      r.beta1 = static_cast<float>(beta1);
      r.one_minus_beta1 = static_cast<float>(1 - beta1);
      r.beta2 = static_cast<float>(beta2);
      r.one_minus_beta2 = static_cast<float>(1 - beta2);
      r.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      r.eps = static_cast<float>(o.eps());
      r.neg_step_size = static_cast<float>(-(o.lr() / bias_correction1));
      ranges.push_back(r);
      sizes.push_back(flat.numel(i));
    }
  }
  const auto run = [&] {
    fused::parallel_over(sizes, [&](size_t j, int64_t begin, int64_t end) { fused::adam(ranges[j], begin, end); });
  };
  if (fused::aten_sqrt_is_ieee() || ranges.empty()) {
    run();
    return loss;
  }
  // ATen's square roots (see fused::AdamPass), one call over each second-moment buffer in use: the
  // exp_avg_sq buffer, or AMSGrad's maxima for its groups.
  for (auto& r : ranges) r.pass = fused::AdamPass::kMoments;
  run();
  at::Tensor roots[2];
  for (const bool amsgrad : {false, true}) {
    const auto takes = [&](const fused::AdamRange& r) { return (r.max_exp_avg_sq != nullptr) == amsgrad; };
    if (std::none_of(ranges.begin(), ranges.end(), takes)) continue;
    const size_t buffer = amsgrad ? kMaxExpAvgSq : kExpAvgSq;
    roots[amsgrad] = flat.scratch(amsgrad);
    at::sqrt_out(roots[amsgrad], at::from_blob(flat.base(buffer), {flat.total()}, at::kFloat));
    for (auto& r : ranges)
      if (takes(r)) r.sqrt_second_moment = roots[amsgrad].data_ptr<float>() + (r.exp_avg_sq - flat.base(kExpAvgSq));
  }
  for (auto& r : ranges) r.pass = fused::AdamPass::kApply;
  run();
  return loss;
}

}  // namespace

FusedAdam::FusedAdam(std::vector<optim::OptimizerParamGroup> param_groups, optim::AdamOptions defaults)
    : optim::Adam(std::move(param_groups), defaults), FusedOptimizer(*this, 3) {}

FusedAdam::FusedAdam(std::vector<at::Tensor> params, optim::AdamOptions defaults)
    : FusedAdam(std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(std::move(params))}, defaults) {}

at::Tensor FusedAdam::step(LossClosure closure) {
  if (!prepare()) return optim::Adam::step(std::move(closure));
  return adam_step<optim::AdamOptions, optim::AdamParamState>(*this, flat_, /*decoupled=*/false, closure);
}

FusedAdamW::FusedAdamW(std::vector<optim::OptimizerParamGroup> param_groups, optim::AdamWOptions defaults)
    : optim::AdamW(std::move(param_groups), defaults), FusedOptimizer(*this, 3) {}

FusedAdamW::FusedAdamW(std::vector<at::Tensor> params, optim::AdamWOptions defaults)
    : FusedAdamW(std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(std::move(params))}, defaults) {}

at::Tensor FusedAdamW::step(LossClosure closure) {
  if (!prepare()) return optim::AdamW::step(std::move(closure));
  return adam_step<optim::AdamWOptions, optim::AdamWParamState>(*this, flat_, /*decoupled=*/true, closure);
}

}  // namespace tempo
