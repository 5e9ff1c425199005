// Composer's schedulers with a linear warm-up (composer/optim/scheduler.py), same arguments,
// defaults and formulas. For t < t_warmup (t_warmup converted without the scale schedule ratio,
// as Composer does) alpha rises linearly from 0, as LinearScheduler(0, peak, t_warmup) evaluated
// with the ratio only when scale_warmup is true; afterwards tau_w = (t - t_warmup) /
// (t_max - t_warmup) (0 when t_max <= t_warmup), clipped to at most 1, drives:
//   MultiStepWithWarmupScheduler(t_warmup, milestones, gamma=0.1, scale_warmup=false):
//       peak 1, then gamma ^ (milestones reached)
//   ConstantWithWarmupScheduler(t_warmup, alpha=1, t_max=1dur, scale_warmup=false):
//       peak alpha, then alpha (LinearWithWarmup with alpha_i = alpha_f = alpha)
//   LinearWithWarmupScheduler(t_warmup, alpha_i=1, alpha_f=0, t_max=1dur, scale_warmup=false):
//       peak alpha_i, then alpha_i + tau_w * (alpha_f - alpha_i)
//   CosineAnnealingWithWarmupScheduler(t_warmup, t_max=1dur, alpha_f=0, scale_warmup=false):
//       peak 1, then alpha_f + (1 - alpha_f) * (1 + cos(pi tau_w)) / 2
//   PolynomialWithWarmupScheduler(t_warmup, power=2, t_max=1dur, alpha_f=0, scale_warmup=false):
//       peak 1, then alpha_f + (1 - alpha_f) * (1 - tau_w) ^ power
// Throws ConfigError naming the scheduler and argument: times in sec or negative, t_max not > 0,
// non-finite numbers, gamma not > 0, milestones not increasing, a t_warmup longer than t_max
// (when given in one unit, and in compile() once both are converted); in compile() and when
// evaluated, as Composer raises: t_warmup and t_max that convert to different units, and a t_max
// shorter than max_duration. A warm-up that converts to 0 although given non-zero is warned
// about on stderr once, at compile().
#pragma once

#include <torch/arg.h>

#include <optional>
#include <vector>

#include "tempo/optim/composer_scheduler.h"
#include "tempo/optim/schedule_time.h"

namespace tempo {

// The part every warm-up scheduler shares: the warm-up ramp and the post-warm-up fraction.
class WarmupScheduler : public ComposerScheduler {
 public:
  double operator()(const State& state, double ssr = 1.0) const override;

 protected:
  // t_max unset: no t_max (MultiStepWithWarmupScheduler).
  WarmupScheduler(const Time& t_warmup, std::optional<Time> t_max, bool scale_warmup, double peak);
  // alpha after the warm-up; tau_w is already clipped. Gets state and ssr for the milestones.
  virtual double after_warmup(double tau_w, const State& state, double ssr) const = 0;
  void check_run(const State& state, double ssr) const override;
  // Validates the times; derived constructors call it once type_name() can be called.
  void check_times() const;

 private:
  Time t_warmup_;
  std::optional<Time> t_max_;
  bool scale_warmup_;
  double peak_;
};

struct MultiStepWithWarmupSchedulerOptions {
  MultiStepWithWarmupSchedulerOptions(const TimeArg& t_warmup, const std::vector<TimeArg>& milestones);
  TEMPO_TIME_ARG(t_warmup);
  TORCH_ARG(std::vector<Time>, milestones);
  TORCH_ARG(double, gamma) = 0.1;
  TORCH_ARG(bool, scale_warmup) = false;
};

class MultiStepWithWarmupScheduler : public WarmupScheduler {
 public:
  explicit MultiStepWithWarmupScheduler(MultiStepWithWarmupSchedulerOptions options);
  std::string type_name() const override { return "MultiStepWithWarmupScheduler"; }
  const MultiStepWithWarmupSchedulerOptions& options() const { return options_; }

 protected:
  double after_warmup(double tau_w, const State& state, double ssr) const override;

 private:
  MultiStepWithWarmupSchedulerOptions options_;
};

struct ConstantWithWarmupSchedulerOptions {
  ConstantWithWarmupSchedulerOptions(const TimeArg& t_warmup) : t_warmup_(t_warmup.time) {}  // NOLINT
  TEMPO_TIME_ARG(t_warmup);
  TORCH_ARG(double, alpha) = 1.0;
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(bool, scale_warmup) = false;
};

class ConstantWithWarmupScheduler : public WarmupScheduler {
 public:
  explicit ConstantWithWarmupScheduler(ConstantWithWarmupSchedulerOptions options);
  std::string type_name() const override { return "ConstantWithWarmupScheduler"; }
  const ConstantWithWarmupSchedulerOptions& options() const { return options_; }

 protected:
  double after_warmup(double tau_w, const State& state, double ssr) const override;

 private:
  ConstantWithWarmupSchedulerOptions options_;
};

struct LinearWithWarmupSchedulerOptions {
  LinearWithWarmupSchedulerOptions(const TimeArg& t_warmup) : t_warmup_(t_warmup.time) {}  // NOLINT
  TEMPO_TIME_ARG(t_warmup);
  TORCH_ARG(double, alpha_i) = 1.0;
  TORCH_ARG(double, alpha_f) = 0.0;
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(bool, scale_warmup) = false;
};

class LinearWithWarmupScheduler : public WarmupScheduler {
 public:
  explicit LinearWithWarmupScheduler(LinearWithWarmupSchedulerOptions options);
  std::string type_name() const override { return "LinearWithWarmupScheduler"; }
  const LinearWithWarmupSchedulerOptions& options() const { return options_; }

 protected:
  double after_warmup(double tau_w, const State& state, double ssr) const override;

 private:
  LinearWithWarmupSchedulerOptions options_;
};

struct CosineAnnealingWithWarmupSchedulerOptions {
  CosineAnnealingWithWarmupSchedulerOptions(const TimeArg& t_warmup) : t_warmup_(t_warmup.time) {}  // NOLINT
  TEMPO_TIME_ARG(t_warmup);
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(double, alpha_f) = 0.0;
  TORCH_ARG(bool, scale_warmup) = false;
};

class CosineAnnealingWithWarmupScheduler : public WarmupScheduler {
 public:
  explicit CosineAnnealingWithWarmupScheduler(CosineAnnealingWithWarmupSchedulerOptions options);
  std::string type_name() const override { return "CosineAnnealingWithWarmupScheduler"; }
  const CosineAnnealingWithWarmupSchedulerOptions& options() const { return options_; }

 protected:
  double after_warmup(double tau_w, const State& state, double ssr) const override;

 private:
  CosineAnnealingWithWarmupSchedulerOptions options_;
};

struct PolynomialWithWarmupSchedulerOptions {
  PolynomialWithWarmupSchedulerOptions(const TimeArg& t_warmup) : t_warmup_(t_warmup.time) {}  // NOLINT
  TEMPO_TIME_ARG(t_warmup);
  TORCH_ARG(double, power) = 2.0;
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(double, alpha_f) = 0.0;
  TORCH_ARG(bool, scale_warmup) = false;
};

class PolynomialWithWarmupScheduler : public WarmupScheduler {
 public:
  explicit PolynomialWithWarmupScheduler(PolynomialWithWarmupSchedulerOptions options);
  std::string type_name() const override { return "PolynomialWithWarmupScheduler"; }
  const PolynomialWithWarmupSchedulerOptions& options() const { return options_; }

 protected:
  double after_warmup(double tau_w, const State& state, double ssr) const override;

 private:
  PolynomialWithWarmupSchedulerOptions options_;
};

}  // namespace tempo
