#include "tempo/optim/composer_scheduler.h"

#include <fmt/format.h>
#include <torch/optim/optimizer.h>

#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

size_t count_param_groups(const State& state) {
  size_t n = 0;
  for (const auto& optimizer : state.optimizers) n += optimizer->param_groups().size();
  return n;
}

c10::IValue double_list(const std::vector<double>& values) {
  c10::impl::GenericList list(c10::AnyType::get());
  for (double v : values) list.push_back(v);
  return list;
}

std::vector<double> doubles_from_tree(const c10::IValue& value, const std::string& path) {
  if (!value.isList()) throw CheckpointError(fmt::format("state tree: '{}' must be a list of numbers", path));
  std::vector<double> out;
  for (const auto& item : value.toListRef()) {
    if (item.isDouble()) out.push_back(item.toDouble());
    else if (item.isInt()) out.push_back(static_cast<double>(item.toInt()));
    else throw CheckpointError(fmt::format("state tree: '{}' must be a list of numbers, holds a {}", path, item.tagKind()));
  }
  return out;
}

}  // namespace

void ComposerScheduler::compile(const State& state, double scale_schedule_ratio) {
  if (!std::isfinite(scale_schedule_ratio) || scale_schedule_ratio <= 0) {
    throw ConfigError(fmt::format("{}: scale_schedule_ratio must be > 0, got {}", type_name(), scale_schedule_ratio));
  }
  if (state.optimizers.empty()) throw ConfigError(type_name() + ": the run has no optimizer to schedule");
  // PyTorch's 'initial_lr': a ComposerScheduler compiled before this one over the same optimizers
  // already set the lrs, and took the configured ones as its base.
  const ComposerScheduler* earlier = nullptr;
  for (const auto& scheduler : state.schedulers) {
    if (scheduler.get() == this) break;
    const auto* composer = dynamic_cast<const ComposerScheduler*>(scheduler.get());
    if (composer && composer->compiled() && composer->base_lrs().size() == count_param_groups(state)) {
      earlier = composer;
      break;
    }
  }
  std::vector<double> base;
  if (earlier) {
    base = earlier->base_lrs();
  } else {
    for (const auto& optimizer : state.optimizers) {
      for (const auto& group : optimizer->param_groups()) base.push_back(group.options().get_lr());
    }
  }
  check_run(state, scale_schedule_ratio);
  const double alpha = (*this)(state, scale_schedule_ratio);
  base_lrs_ = std::move(base);
  ssr_ = scale_schedule_ratio;
  last_epoch_ = 0;
  compiled_ = true;
  set_lrs(state, alpha);
}

void ComposerScheduler::step(const State& state) {
  if (!compiled_) {
    throw ConfigError(type_name() + ": step() before compile(); pass the scheduler in TrainerOptions::schedulers");
  }
  const double alpha = (*this)(state, ssr_);
  ++last_epoch_;
  set_lrs(state, alpha);
}

void ComposerScheduler::set_lrs(const State& state, double alpha) {
  if (count_param_groups(state) != base_lrs_.size()) {
    throw ConfigError(fmt::format("{}: the optimizers have {} param groups, but {} when the scheduler was compiled",
                                  type_name(), count_param_groups(state), base_lrs_.size()));
  }
  last_lrs_.clear();
  size_t i = 0;
  for (const auto& optimizer : state.optimizers) {
    for (auto& group : optimizer->param_groups()) {
      const double lr = base_lrs_[i++] * alpha;  // LambdaLR: base_lr * lmbda(last_epoch)
      group.options().set_lr(lr);
      last_lrs_.push_back(lr);
    }
  }
}

c10::IValue ComposerScheduler::state_dict() const {
  auto dict = new_tree_dict();
  dict.insert("base_lrs", double_list(base_lrs_));
  dict.insert("last_epoch", last_epoch_);
  dict.insert("verbose", false);
  dict.insert("_step_count", last_epoch_ + 1);
  dict.insert("_get_lr_called_within_step", false);
  dict.insert("_last_lr", double_list(last_lrs_));
  c10::impl::GenericList lambdas(c10::AnyType::get());
  lambdas.push_back(c10::IValue());  // the function itself is code, not state
  dict.insert("lr_lambdas", lambdas);
  return dict;
}

void ComposerScheduler::load_state_dict(const c10::IValue& state) {
  const std::string path = "state/schedulers/" + name();
  auto dict = tree_dict(state, path);
  auto base = doubles_from_tree(tree_at(dict, "base_lrs", path), path + "/base_lrs");
  const auto last_epoch = tree_int(dict, "last_epoch", path);
  if (compiled_ && base.size() != base_lrs_.size()) {
    throw CheckpointError(fmt::format("state tree: '{}/base_lrs' holds {} learning rates but the optimizers have {} "
                                      "param groups", path, base.size(), base_lrs_.size()));
  }
  if (last_epoch < 0) throw CheckpointError(fmt::format("state tree: '{}/last_epoch' is {}, expected >= 0", path, last_epoch));
  std::vector<double> last;
  if (tree_has(dict, "_last_lr")) last = doubles_from_tree(tree_at(dict, "_last_lr", path), path + "/_last_lr");
  base_lrs_ = std::move(base);
  last_epoch_ = last_epoch;
  last_lrs_ = std::move(last);
}

}  // namespace tempo
