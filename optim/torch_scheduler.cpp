#include "tempo/optim/torch_scheduler.h"

#include <c10/util/Type.h>
#include <fmt/format.h>

#include <limits>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

// LibTorch keeps the step count and the current lrs protected and offers no state_dict; a
// pointer to member named through a derived class reaches them without changing LibTorch.
struct SchedulerAccess : torch::optim::LRScheduler {
  static unsigned& step_count(torch::optim::LRScheduler& s) { return s.*(&SchedulerAccess::step_count_); }
  static std::vector<double> current_lrs(const torch::optim::LRScheduler& s) {
    return (s.*(&SchedulerAccess::get_current_lrs))();
  }
};

std::string class_name(const torch::optim::LRScheduler& scheduler) {
  auto name = c10::demangle(typeid(scheduler).name());
  const auto colon = name.rfind("::");
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

}  // namespace

TorchScheduler::TorchScheduler(std::shared_ptr<torch::optim::LRScheduler> scheduler, TorchSchedulerOptions options)
    : scheduler_(std::move(scheduler)), options_(std::move(options)) {
  if (!scheduler_) throw ConfigError("TorchScheduler: the LibTorch scheduler is null");
  name_ = options_.name().empty() ? class_name(*scheduler_) : options_.name();
}

void TorchScheduler::step(const State& state) {
  // The trainer calls this after each batch, before the timestamp moves on: the epoch's last
  // batch is the one whose batch_in_epoch is one short of the epoch's length.
  const bool epoch_ends = state.timestamp.batch_in_epoch() + 1 == state.dataloader_len();
  if (options_.step_every_batch() || epoch_ends) scheduler_->step();
}

unsigned TorchScheduler::step_count() const { return SchedulerAccess::step_count(*scheduler_); }

c10::IValue TorchScheduler::state_dict() const {
  auto dict = new_tree_dict();
  const auto steps = static_cast<int64_t>(step_count());
  dict.insert("last_epoch", steps);
  dict.insert("_step_count", steps + 1);
  c10::impl::GenericList lrs(c10::AnyType::get());
  for (double lr : SchedulerAccess::current_lrs(*scheduler_)) lrs.push_back(lr);
  dict.insert("_last_lr", lrs);
  return dict;
}

void TorchScheduler::load_state_dict(const c10::IValue& state) {
  const std::string path = "state/schedulers/" + name_;
  auto dict = tree_dict(state, path);
  const auto steps = tree_int(dict, "last_epoch", path);
  if (steps < 0 || steps > std::numeric_limits<unsigned>::max()) {
    throw CheckpointError(fmt::format("state tree: '{}/last_epoch' is {}, expected a step count", path, steps));
  }
  SchedulerAccess::step_count(*scheduler_) = static_cast<unsigned>(steps);
}

}  // namespace tempo
