// TorchScheduler: a LibTorch scheduler (torch::optim::StepLR, or any torch::optim::LRScheduler
// subclass) as a tempo::Scheduler, so it can go in TrainerOptions::schedulers and resume exactly:
//   TrainerOptions().schedulers({std::make_shared<TorchScheduler>(
//       std::make_shared<torch::optim::StepLR>(*optimizer, /*step_size=*/3, /*gamma=*/0.5))})
// What a resume needs is the scheduler's step count, saved under state/schedulers/<name> in
// PyTorch's names (last_epoch = steps taken, _step_count = last_epoch + 1, _last_lr), and the
// current lr, which LibTorch schedulers keep in the optimizer's param_groups and the checkpoint
// already holds under state/optimizers/<Optimizer>/param_groups.
// When it steps: as Composer steps a PyTorch scheduler by default (step_schedulers_every_batch
// unset), once per epoch, after the epoch's last batch (before EPOCH_END); with
// step_every_batch(true), after every batch, like Composer's schedulers.
// The scheduler must outlive nothing but the optimizer it holds a reference to; keep that
// optimizer in TrainerOptions::optimizers.
// Throws ConfigError from the constructor for a null scheduler and from compile() for a
// scale_schedule_ratio other than 1 (LibTorch hides StepLR's step_size, so it cannot be
// rescaled as Composer's scale_pytorch_scheduler does); CheckpointError from load_state_dict()
// for a tree without a valid last_epoch.
#pragma once

#include <torch/arg.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include <memory>
#include <string>
#include <vector>

#include "tempo/state/scheduler.h"

namespace tempo {

struct TorchSchedulerOptions {
  // The key under state/schedulers; empty: the class name ("StepLR"), as Composer keys them.
  TORCH_ARG(std::string, name);
  // Composer's step_schedulers_every_batch; false: once per epoch (Composer's default for
  // PyTorch schedulers).
  TORCH_ARG(bool, step_every_batch) = false;
};

class TorchScheduler : public Scheduler {
 public:
  explicit TorchScheduler(std::shared_ptr<torch::optim::LRScheduler> scheduler, TorchSchedulerOptions options = {});

  void step(const State& state) override;
  std::string name() const override { return name_; }
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

  torch::optim::LRScheduler& scheduler() { return *scheduler_; }
  // LibTorch's step_count_: the steps taken so far.
  unsigned step_count() const;

 private:
  std::shared_ptr<torch::optim::LRScheduler> scheduler_;
  TorchSchedulerOptions options_;
  std::string name_;
};

}  // namespace tempo
