// Composer's continuous schedules (composer/optim/scheduler.py), same arguments, defaults and
// formulas; t is state.timestamp in the unit the argument converts to (optim/schedule_time.h)
// and tau = t / t_max clipped to at most 1:
//   ConstantScheduler(alpha=1, t_max=1dur):             alpha while t < t_max, then 1
//   LinearScheduler(alpha_i=1, alpha_f=0, t_max=1dur):   alpha_i + tau * (alpha_f - alpha_i)
//   CosineAnnealingScheduler(t_max=1dur, alpha_f=0):     alpha_f + (1 - alpha_f) * (1 + cos(pi tau)) / 2
//   CosineAnnealingWarmRestartsScheduler(t_0, t_mult=1, alpha_f=0): the cosine over cycles of
//     t_0, t_0*t_mult, ... (each length int(t_mult * previous), as Composer computes it)
//   PolynomialScheduler(power, t_max=1dur, alpha_f=0):  alpha_f + (1 - alpha_f) * (1 - tau) ^ power
// Throws ConfigError naming the scheduler and argument: a time in sec or negative; t_max, t_0
// not > 0 (ConstantScheduler accepts t_max 0); t_mult or power not finite, t_mult not > 0; and
// when evaluated, a t_max or t_0 that the scale schedule ratio turns into 0, or restart cycles
// that decay to length 0.
#pragma once

#include <torch/arg.h>

#include "tempo/optim/composer_scheduler.h"
#include "tempo/optim/schedule_time.h"

namespace tempo {

struct ConstantSchedulerOptions {
  TORCH_ARG(double, alpha) = 1.0;
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
};

class ConstantScheduler : public ComposerScheduler {
 public:
  explicit ConstantScheduler(ConstantSchedulerOptions options = {});
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "ConstantScheduler"; }
  const ConstantSchedulerOptions& options() const { return options_; }

 private:
  ConstantSchedulerOptions options_;
};

struct LinearSchedulerOptions {
  TORCH_ARG(double, alpha_i) = 1.0;
  TORCH_ARG(double, alpha_f) = 0.0;
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
};

class LinearScheduler : public ComposerScheduler {
 public:
  explicit LinearScheduler(LinearSchedulerOptions options = {});
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "LinearScheduler"; }
  const LinearSchedulerOptions& options() const { return options_; }

 private:
  LinearSchedulerOptions options_;
};

struct CosineAnnealingSchedulerOptions {
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(double, alpha_f) = 0.0;
};

class CosineAnnealingScheduler : public ComposerScheduler {
 public:
  explicit CosineAnnealingScheduler(CosineAnnealingSchedulerOptions options = {});
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "CosineAnnealingScheduler"; }
  const CosineAnnealingSchedulerOptions& options() const { return options_; }

 private:
  CosineAnnealingSchedulerOptions options_;
};

struct CosineAnnealingWarmRestartsSchedulerOptions {
  CosineAnnealingWarmRestartsSchedulerOptions(const TimeArg& t_0) : t_0_(t_0.time) {}  // NOLINT
  TEMPO_TIME_ARG(t_0);
  TORCH_ARG(double, t_mult) = 1.0;
  TORCH_ARG(double, alpha_f) = 0.0;
};

class CosineAnnealingWarmRestartsScheduler : public ComposerScheduler {
 public:
  explicit CosineAnnealingWarmRestartsScheduler(CosineAnnealingWarmRestartsSchedulerOptions options);
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "CosineAnnealingWarmRestartsScheduler"; }
  const CosineAnnealingWarmRestartsSchedulerOptions& options() const { return options_; }

 private:
  CosineAnnealingWarmRestartsSchedulerOptions options_;
};

struct PolynomialSchedulerOptions {
  explicit PolynomialSchedulerOptions(double power) : power_(power) {}
  TORCH_ARG(double, power);
  TEMPO_TIME_ARG(t_max) = Time::from_duration(1.0);
  TORCH_ARG(double, alpha_f) = 0.0;
};

class PolynomialScheduler : public ComposerScheduler {
 public:
  explicit PolynomialScheduler(PolynomialSchedulerOptions options);
  double operator()(const State& state, double ssr = 1.0) const override;
  std::string type_name() const override { return "PolynomialScheduler"; }
  const PolynomialSchedulerOptions& options() const { return options_; }

 private:
  PolynomialSchedulerOptions options_;
};

// Composer's LinearScheduler formula with t_max already converted: the warm-up of the
// *WithWarmup schedulers uses it too. Throws ConfigError naming `what` when t_max is 0.
double linear_alpha(double alpha_i, double alpha_f, const Time& t_max, const State& state, const std::string& what);
// A converted t_max that must not be 0 (Composer divides by it).
void require_nonzero(const Time& converted, const Time& given, double ssr, const std::string& what);
// Finite numbers only (alpha, alpha_i, alpha_f, power, t_mult).
void check_finite(double value, const std::string& what);

}  // namespace tempo
