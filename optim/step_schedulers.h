// Composer's discrete and exponential decays (composer/optim/scheduler.py), same arguments,
// defaults and formulas; t is state.timestamp in the unit the argument converts to (see
// optim/schedule_time.h), so "ep" arguments count batches and "dur" ones follow max_duration.
//   StepScheduler(step_size, gamma=0.1):        alpha = gamma ^ int(t / step_size)
//   MultiStepScheduler(milestones, gamma=0.1):  alpha = gamma ^ (milestones reached), each
//                                               milestone compared in its own converted unit
//   ExponentialScheduler(gamma, decay_period=1ep): alpha = gamma ^ (t / decay_period)
// Throws ConfigError naming the scheduler and argument: gamma not finite and > 0; step_size or
// decay_period not > 0 or in sec; a milestone in sec or negative, or milestones of one unit not
// increasing; and, when evaluated, a step_size or decay_period that the scale schedule ratio
// turns into 0.
#pragma once

#include <torch/arg.h>

#include <vector>

#include "tempo/optim/composer_scheduler.h"
#include "tempo/optim/schedule_time.h"

namespace tempo {

struct StepSchedulerOptions {
  StepSchedulerOptions(const TimeArg& step_size) : step_size_(step_size.time) {}  // NOLINT
  TEMPO_TIME_ARG(step_size);
  TORCH_ARG(double, gamma) = 0.1;
};

class StepScheduler : public ComposerScheduler {
 public:
  explicit StepScheduler(StepSchedulerOptions options);
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "StepScheduler"; }
  const StepSchedulerOptions& options() const { return options_; }

 private:
  StepSchedulerOptions options_;
};

struct MultiStepSchedulerOptions {
  MultiStepSchedulerOptions(const std::vector<TimeArg>& milestones);  // NOLINT
  TORCH_ARG(std::vector<Time>, milestones);
  TORCH_ARG(double, gamma) = 0.1;
};

class MultiStepScheduler : public ComposerScheduler {
 public:
  explicit MultiStepScheduler(MultiStepSchedulerOptions options);
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "MultiStepScheduler"; }
  const MultiStepSchedulerOptions& options() const { return options_; }

 protected:
  void check_run(const State& state, double ssr) const override;

 private:
  MultiStepSchedulerOptions options_;
};

struct ExponentialSchedulerOptions {
  explicit ExponentialSchedulerOptions(double gamma) : gamma_(gamma) {}
  TORCH_ARG(double, gamma);
  TEMPO_TIME_ARG(decay_period) = Time(1, TimeUnit::EPOCH);
};

class ExponentialScheduler : public ComposerScheduler {
 public:
  explicit ExponentialScheduler(ExponentialSchedulerOptions options);
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "ExponentialScheduler"; }
  const ExponentialSchedulerOptions& options() const { return options_; }

 private:
  ExponentialSchedulerOptions options_;
};

// Shared by the multistep schedulers: gamma must be finite and > 0; milestones valid times,
// increasing within one unit. `who` is the scheduler's name.
void check_gamma(double gamma, const std::string& who);
void check_milestones(const std::vector<Time>& milestones, const std::string& who);
// gamma ^ (milestones reached), multiplied out one by one as Composer does.
double multistep_factor(const std::vector<Time>& milestones, double gamma, const State& state, double ssr,
                        const std::string& who);

}  // namespace tempo
