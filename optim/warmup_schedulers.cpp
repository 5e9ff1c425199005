#include "tempo/optim/warmup_schedulers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tempo/errors/error.h"
#include "tempo/optim/annealing_schedulers.h"
#include "tempo/optim/step_schedulers.h"
#include "tempo/state/state.h"

namespace tempo {

WarmupScheduler::WarmupScheduler(const Time& t_warmup, std::optional<Time> t_max, bool scale_warmup, double peak)
    : t_warmup_(t_warmup), t_max_(std::move(t_max)), scale_warmup_(scale_warmup), peak_(peak) {}

void WarmupScheduler::check_times() const {
  check_schedule_time(t_warmup_, what("t_warmup"));
  if (!t_max_) return;
  check_schedule_time(*t_max_, what("t_max"), /*allow_zero=*/false);
  if (t_warmup_.unit() == t_max_->unit() && t_warmup_ > *t_max_) {
    throw ConfigError(fmt::format("{}: t_warmup {} is longer than t_max {}", type_name(), t_warmup_, *t_max_));
  }
}

namespace {

// Composer's _raise_if_warmup_and_max_incompatible.
void check_same_unit(const Time& t_warmup, const Time& t_max, const Time& given_warmup, const Time& given_max,
                     const std::string& who) {
  if (t_warmup.unit() != t_max.unit()) {
    throw ConfigError(fmt::format("{}: t_warmup {} and t_max {} must be in units that convert alike; in this run "
                                  "they become {} and {}", who, given_warmup, given_max, t_warmup, t_max));
  }
}

// Composer's _raise_if_max_duration_exceeds_t_max, on the converted t_max.
void check_covers_max_duration(const Time& t_max, const Time& given, const State& state, const std::string& who) {
  const Time& max = *state.max_duration;
  int64_t needed = -1;
  if (t_max.unit() == max.unit()) {
    needed = max.count();
  } else if (t_max.unit() == TimeUnit::BATCH && max.unit() == TimeUnit::EPOCH && state.dataloader_len() > 0) {
    needed = max.count() * state.dataloader_len();
  }
  if (needed >= 0 && t_max.count() < needed) {
    throw ConfigError(fmt::format("{}: t_max {} ({} in this run) must be at least max_duration {}, or the schedule "
                                  "does not cover the whole run", who, given, t_max, max));
  }
}

}  // namespace

void WarmupScheduler::check_run(const State& state, double ssr) const {
  const Time t_warmup = convert_schedule_time(t_warmup_, state, 1.0, what("t_warmup"));
  if (t_warmup.count() == 0 && t_warmup_.value() != 0) {
    state.env->warn(fmt::format("{}: t_warmup {} is 0{} in this run; a warm-up given in dur is counted in "
                                "max_duration's unit",
                                type_name(), to_string(t_warmup_), to_string(t_warmup.unit())));
  }
  if (!t_max_) return;
  const Time t_max = convert_schedule_time(*t_max_, state, ssr, what("t_max"));
  check_same_unit(t_warmup, t_max, t_warmup_, *t_max_, type_name());
  const Time ramp = scale_warmup_ ? convert_schedule_time(t_warmup_, state, ssr, what("t_warmup")) : t_warmup;
  if (ramp > t_max) {
    throw ConfigError(fmt::format("{}: t_warmup {} is longer than t_max {} ({} and {} in this run)", type_name(),
                                  t_warmup_, *t_max_, ramp, t_max));
  }
}

double WarmupScheduler::operator()(const State& state, double ssr) const {
  const Time t_warmup = convert_schedule_time(t_warmup_, state, 1.0, what("t_warmup"));
  std::optional<Time> t_max;
  if (t_max_) {
    t_max = convert_schedule_time(*t_max_, state, ssr, what("t_max"));
    check_same_unit(t_warmup, *t_max, t_warmup_, *t_max_, type_name());
    check_covers_max_duration(*t_max, *t_max_, state, type_name());
  }
  const int64_t now = elapsed(state, t_warmup.unit());
  if (now < t_warmup.count()) {
    const Time ramp = scale_warmup_ ? convert_schedule_time(t_warmup_, state, ssr, what("t_warmup")) : t_warmup;
    return linear_alpha(0.0, peak_, ramp, state, what("t_warmup"));
  }
  double tau_w = 0.0;
  if (t_max && t_max->count() > t_warmup.count()) {
    tau_w = ratio(now - t_warmup.count(), t_max->count() - t_warmup.count());
  }
  return after_warmup(std::min(1.0, tau_w), state, ssr);
}

MultiStepWithWarmupSchedulerOptions::MultiStepWithWarmupSchedulerOptions(const TimeArg& t_warmup,
                                                                         const std::vector<TimeArg>& milestones)
    : t_warmup_(t_warmup.time) {
  for (const auto& m : milestones) milestones_.push_back(m.time);
}

MultiStepWithWarmupScheduler::MultiStepWithWarmupScheduler(MultiStepWithWarmupSchedulerOptions options)
    : WarmupScheduler(options.t_warmup(), std::nullopt, options.scale_warmup(), 1.0), options_(std::move(options)) {
  check_times();
  check_milestones(options_.milestones(), type_name());
  check_gamma(options_.gamma(), type_name());
}

double MultiStepWithWarmupScheduler::after_warmup(double /*tau_w*/, const State& state, double ssr) const {
  return multistep_factor(options_.milestones(), options_.gamma(), state, ssr, type_name());
}

ConstantWithWarmupScheduler::ConstantWithWarmupScheduler(ConstantWithWarmupSchedulerOptions options)
    : WarmupScheduler(options.t_warmup(), options.t_max(), options.scale_warmup(), options.alpha()),
      options_(std::move(options)) {
  check_times();
  check_finite(options_.alpha(), what("alpha"));
}

double ConstantWithWarmupScheduler::after_warmup(double tau_w, const State&, double) const {
  return options_.alpha() + tau_w * (options_.alpha() - options_.alpha());  // LinearWithWarmup(alpha, alpha)
}

LinearWithWarmupScheduler::LinearWithWarmupScheduler(LinearWithWarmupSchedulerOptions options)
    : WarmupScheduler(options.t_warmup(), options.t_max(), options.scale_warmup(), options.alpha_i()),
      options_(std::move(options)) {
  check_times();
  check_finite(options_.alpha_i(), what("alpha_i"));
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double LinearWithWarmupScheduler::after_warmup(double tau_w, const State&, double) const {
  return options_.alpha_i() + tau_w * (options_.alpha_f() - options_.alpha_i());
}

CosineAnnealingWithWarmupScheduler::CosineAnnealingWithWarmupScheduler(CosineAnnealingWithWarmupSchedulerOptions options)
    : WarmupScheduler(options.t_warmup(), options.t_max(), options.scale_warmup(), 1.0), options_(std::move(options)) {
  check_times();
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double CosineAnnealingWithWarmupScheduler::after_warmup(double tau_w, const State&, double) const {
  return cosine_anneal(tau_w, options_.alpha_f());
}

PolynomialWithWarmupScheduler::PolynomialWithWarmupScheduler(PolynomialWithWarmupSchedulerOptions options)
    : WarmupScheduler(options.t_warmup(), options.t_max(), options.scale_warmup(), 1.0), options_(std::move(options)) {
  check_times();
  check_finite(options_.power(), what("power"));
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double PolynomialWithWarmupScheduler::after_warmup(double tau_w, const State&, double) const {
  const double coeff = std::pow(1 - tau_w, options_.power());
  return options_.alpha_f() + coeff * (1.0 - options_.alpha_f());
}

}  // namespace tempo
