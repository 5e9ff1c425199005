// ComposerScheduler: one of Composer's stateless schedulers (composer/optim/scheduler.py), a pure
// function alpha(state, ssr) giving the multiplier of each param group's initial learning rate,
// together with what Composer's compile_composer_scheduler makes of it: a torch LambdaLR. So it
// is itself the tempo::Scheduler the trainer steps:
//   compile(state, ssr) (the Trainer's constructor, before a checkpoint is loaded): remembers the
//     lr of every param group of every optimizer, in order, as its base lr, and sets
//     lr = base * alpha(state, ssr) for the first batch, as LambdaLR's constructor does. A second
//     ComposerScheduler over the same optimizers takes the first one's base lrs (PyTorch keeps
//     them as 'initial_lr'), so each sets lr = base * its own alpha and the last one stepped wins:
//     Composer's LambdaLRs do not multiply.
//   step(state): lr = base * alpha(state, ssr). The trainer calls it after batch k's optimizer
//     step with the timestamp still at batch k, so batch k+1 trains with alpha(k) and batch 0 with
//     alpha(0): Composer's order exactly (its schedulers are stepped before to_next_batch).
//   state_dict(): LambdaLR's own layout, under state/schedulers/LambdaLR as in Composer:
//     base_lrs, last_epoch (steps since compile), verbose, _step_count, _get_lr_called_within_step,
//     _last_lr, lr_lambdas. load_state_dict() takes back base_lrs and the step count; the current lr
//     comes back with the optimizers' param_groups. A resumed run therefore scales the lrs the run
//     was configured with, never the decayed lr it finds in param_groups.
// Throws ConfigError (naming the scheduler and argument) from constructors for bad arguments,
// and from compile() and step() for times that cannot be converted in this run (see
// optim/schedule_time.h) and for schedules undefined over max_duration; CheckpointError from
// load_state_dict() for a tree that does not fit these optimizers; ConfigError from step() before
// compile().
#pragma once

#include <ATen/core/ivalue.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tempo/state/scheduler.h"

namespace tempo {

class ComposerScheduler : public Scheduler {
 public:
  // Composer's __call__: the lr multiplier at state.timestamp with scale schedule ratio ssr.
  virtual double operator()(const State& state, double ssr = 1.0) const = 0;
  // Composer's class name, used in messages ("CosineAnnealingWithWarmupScheduler").
  virtual std::string type_name() const = 0;

  void compile(const State& state, double scale_schedule_ratio) override;
  void step(const State& state) override;
  std::string name() const override { return "LambdaLR"; }
  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

  bool compiled() const { return compiled_; }
  double scale_schedule_ratio() const { return ssr_; }
  // One per param group, optimizers in order.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // LambdaLR's last_epoch: 0 after compile(), one more per step().
  int64_t last_epoch() const { return last_epoch_; }

 protected:
  // Checks that need the run (units that must match, a t_max shorter than max_duration), run by
  // compile() before the first alpha. Default: none.
  virtual void check_run(const State& /*state*/, double /*ssr*/) const {}
  // "StepScheduler: gamma", for messages.
  std::string what(const std::string& argument) const { return type_name() + ": " + argument; }

 private:
  void set_lrs(const State& state, double alpha);

  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  double ssr_ = 1.0;
  int64_t last_epoch_ = -1;
  bool compiled_ = false;
};

}  // namespace tempo
