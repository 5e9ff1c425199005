#include "tempo/optim/fused_sgd.h"

#include <torch/torch.h>

#include <memory>

#include "tempo/optim/fused_kernels.h"
#include "tempo/state/torch_compat.h"

namespace tempo {
namespace {

namespace optim = torch::optim;

constexpr size_t kMomentumBuffer = 2;

}  // namespace

FusedSGD::FusedSGD(std::vector<optim::OptimizerParamGroup> param_groups, optim::SGDOptions defaults)
    : optim::SGD(std::move(param_groups), defaults), FusedOptimizer(*this, 1) {}

FusedSGD::FusedSGD(std::vector<at::Tensor> params, optim::SGDOptions defaults)
    : FusedSGD(std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(std::move(params))}, defaults) {}

at::Tensor FusedSGD::step(LossClosure closure) {
  if (!prepare()) return optim::SGD::step(std::move(closure));
  torch::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  std::vector<fused::SgdRange> ranges;
  std::vector<int64_t> sizes;
  size_t index = 0;
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const optim::SGDOptions&>(group.options());
    for (auto& p : group.params()) {
      const size_t i = index++;
      float* grad = flat_.adopt_grad(i, p);
      if (grad == nullptr) continue;
      fused::SgdRange r;
      r.param = flat_.data(FlatBuffers::kParams, i);
      r.grad = grad;
      r.weight_decay = static_cast<float>(o.weight_decay());
      r.neg_lr = static_cast<float>(-1 * o.lr());
      // As LibTorch: a state (holding the buffer) only with momentum.
      if (o.momentum() != 0) {
        const auto key = tempo::optimizer_state_key(p);
        auto it = state().find(key);
        if (it == state().end()) {
          it = state().emplace(key, std::make_unique<optim::SGDParamState>()).first;
        }
        auto& buffer = static_cast<optim::SGDParamState&>(*it->second).momentum_buffer();
        r.first_step = !buffer.defined();
        if (r.first_step) {
          buffer = flat_.view(kMomentumBuffer, i);  // written whole by the step
        } else {
          flat_.adopt(kMomentumBuffer, i, buffer);
        }
        r.momentum_buffer = flat_.data(kMomentumBuffer, i);
        r.momentum = static_cast<float>(o.momentum());
        r.one_minus_dampening = static_cast<float>(1 - o.dampening());
        r.nesterov = o.nesterov();
      }
      ranges.push_back(r);
      sizes.push_back(flat_.numel(i));
    }
  }
  fused::parallel_over(sizes, [&](size_t j, int64_t begin, int64_t end) { fused::sgd(ranges[j], begin, end); });
  return loss;
}

}  // namespace tempo
