#include "tempo/state/grad_scaler.h"

#include <fmt/format.h>
#include <torch/optim/optimizer.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

void check_options(double init_scale, double growth_factor, double backoff_factor, int64_t growth_interval,
                   const std::string& where) {
  if (!(init_scale > 0.0) || !std::isfinite(static_cast<float>(init_scale))) {
    throw ConfigError(fmt::format("{}: scale must be positive and finite in float32, got {}", where, init_scale));
  }
  if (!(growth_factor > 1.0) || !std::isfinite(growth_factor)) {
    throw ConfigError(fmt::format("{}: growth_factor must be > 1 and finite, got {}", where, growth_factor));
  }
  if (!(backoff_factor > 0.0 && backoff_factor < 1.0)) {
    throw ConfigError(fmt::format("{}: backoff_factor must be in (0, 1), got {}", where, backoff_factor));
  }
  if (growth_interval <= 0) {
    throw ConfigError(fmt::format("{}: growth_interval must be > 0, got {}", where, growth_interval));
  }
}

}  // namespace

GradScaler::GradScaler(const GradScalerOptions& options)
    : scale_(static_cast<float>(options.init_scale())),
      growth_factor_(options.growth_factor()),
      backoff_factor_(options.backoff_factor()),
      growth_interval_(options.growth_interval()) {
  check_options(options.init_scale(), growth_factor_, backoff_factor_, growth_interval_, "GradScalerOptions");
}

at::Tensor GradScaler::scale(const at::Tensor& loss) const { return loss * scale_; }

GradScaler::Unscaled* GradScaler::find(const torch::optim::Optimizer& optimizer) {
  for (auto& entry : unscaled_) {
    if (entry.optimizer == &optimizer) return &entry;
  }
  return nullptr;
}

void GradScaler::unscale_(torch::optim::Optimizer& optimizer) {
  if (const auto* entry = find(optimizer)) {
    throw Error(entry->stepped ? "GradScaler: unscale_() is being called after step() and before update()"
                               : "GradScaler: unscale_() has already been called on this optimizer since the last update()");
  }
  // PyTorch computes the inverse in double and rounds it to float32 once.
  const float inv_scale = static_cast<float>(1.0 / static_cast<double>(scale_));
  bool found_inf = false;
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    for (auto& param : group.params()) {
      auto& grad = param.mutable_grad();
      if (!grad.defined()) continue;
      if (grad.scalar_type() == at::kHalf) {
        throw Error("GradScaler: cannot unscale float16 gradients (PyTorch refuses too): keep the parameters in "
                    "float32 and let autocast lower the precision of the computation");
      }
      auto values = grad.is_sparse() ? grad._values() : grad;
      if (!found_inf) found_inf = !at::isfinite(values).all().item<bool>();
      values.mul_(inv_scale);
    }
  }
  unscaled_.push_back(Unscaled{&optimizer, found_inf, false});
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  auto* entry = find(optimizer);
  if (entry && entry->stepped) throw Error("GradScaler: step() has already been called since the last update()");
  if (!entry) {
    unscale_(optimizer);
    entry = &unscaled_.back();
  }
  entry->stepped = true;
  if (entry->found_inf) return false;
  optimizer.step();
  return true;
}

bool GradScaler::found_inf() const {
  return std::any_of(unscaled_.begin(), unscaled_.end(), [](const Unscaled& u) { return u.found_inf; });
}

void GradScaler::update() {
  if (unscaled_.empty()) {
    throw Error("GradScaler: update() with no optimizer unscaled or stepped since the last update()");
  }
  // torch._amp_update_scale_: the float32 scale times a double factor, rounded back to float32.
  if (found_inf()) {
    scale_ = static_cast<float>(static_cast<double>(scale_) * backoff_factor_);
    growth_tracker_ = 0;
  } else if (growth_tracker_ + 1 == growth_interval_) {
    const auto grown = static_cast<float>(static_cast<double>(scale_) * growth_factor_);
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  } else {
    ++growth_tracker_;
  }
  unscaled_.clear();
}

c10::IValue GradScaler::state_dict() const {
  auto dict = new_tree_dict();
  dict.insert("scale", static_cast<double>(scale_));
  dict.insert("growth_factor", growth_factor_);
  dict.insert("backoff_factor", backoff_factor_);
  dict.insert("growth_interval", growth_interval_);
  dict.insert("_growth_tracker", growth_tracker_);
  return dict;
}

void GradScaler::load_state_dict(const c10::IValue& tree, const std::string& path) {
  auto dict = tree_dict(tree, path);
  const double scale = tree_double(dict, "scale", path);
  const double growth_factor = tree_double(dict, "growth_factor", path);
  const double backoff_factor = tree_double(dict, "backoff_factor", path);
  const int64_t growth_interval = tree_int(dict, "growth_interval", path);
  const int64_t growth_tracker = tree_int(dict, "_growth_tracker", path);
  try {
    check_options(scale, growth_factor, backoff_factor, growth_interval, "state tree: '" + path + "'");
  } catch (const ConfigError& e) {
    throw CheckpointError(e.what());
  }
  if (growth_tracker < 0 || growth_tracker >= growth_interval) {
    throw CheckpointError(fmt::format("state tree: '{}/_growth_tracker' must be in [0, growth_interval {}), got {}", path,
                                      growth_interval, growth_tracker));
  }
  scale_ = static_cast<float>(scale);
  growth_factor_ = growth_factor;
  backoff_factor_ = backoff_factor;
  growth_interval_ = growth_interval;
  growth_tracker_ = growth_tracker;
  unscaled_.clear();
}

}  // namespace tempo
