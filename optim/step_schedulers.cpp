#include "tempo/optim/step_schedulers.h"

#include <fmt/format.h>

#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {

void check_gamma(double gamma, const std::string& who) {
  if (!std::isfinite(gamma) || gamma <= 0) {
    throw ConfigError(fmt::format("{}: gamma must be a finite number > 0, got {}", who, gamma));
  }
}

void check_milestones(const std::vector<Time>& milestones, const std::string& who) {
  for (size_t i = 0; i < milestones.size(); ++i) {
    check_schedule_time(milestones[i], fmt::format("{}: milestones[{}]", who, i));
    for (size_t j = 0; j < i; ++j) {
      if (milestones[j].unit() == milestones[i].unit() && milestones[j] >= milestones[i]) {
        throw ConfigError(fmt::format("{}: milestones must increase, but milestones[{}] = {} comes after {}", who, i,
                                      milestones[i], milestones[j]));
      }
    }
  }
}

double multistep_factor(const std::vector<Time>& milestones, double gamma, const State& state, double ssr,
                        const std::string& who) {
  double factor = 1.0;
  for (size_t i = 0; i < milestones.size(); ++i) {
    const Time m = convert_schedule_time(milestones[i], state, ssr, fmt::format("{}: milestones[{}]", who, i));
    if (elapsed(state, m.unit()) >= m.count()) factor *= gamma;
  }
  return factor;
}

StepScheduler::StepScheduler(StepSchedulerOptions options) : options_(std::move(options)) {
  check_schedule_time(options_.step_size(), what("step_size"), /*allow_zero=*/false);
  check_gamma(options_.gamma(), type_name());
}

double StepScheduler::operator()(const State& state, double ssr) const {
  const Time step_size = convert_schedule_time(options_.step_size(), state, ssr, what("step_size"));
  if (step_size.count() == 0) {
    throw ConfigError(fmt::format("{}: step_size {} is 0{} in this run (scale_schedule_ratio {})", type_name(),
                                  options_.step_size(), to_string(step_size.unit()), ssr));
  }
  const auto steps = static_cast<int64_t>(ratio(elapsed(state, step_size.unit()), step_size.count()));
  return std::pow(options_.gamma(), static_cast<double>(steps));
}

MultiStepSchedulerOptions::MultiStepSchedulerOptions(const std::vector<TimeArg>& milestones) {
  for (const auto& m : milestones) milestones_.push_back(m.time);
}

MultiStepScheduler::MultiStepScheduler(MultiStepSchedulerOptions options) : options_(std::move(options)) {
  check_milestones(options_.milestones(), type_name());
  check_gamma(options_.gamma(), type_name());
}

void MultiStepScheduler::check_run(const State& state, double ssr) const {
  std::vector<Time> converted;
  for (size_t i = 0; i < options_.milestones().size(); ++i) {
    converted.push_back(convert_schedule_time(options_.milestones()[i], state, ssr, fmt::format("{}[{}]", what("milestones"), i)));
  }
  for (size_t i = 1; i < converted.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (converted[j].unit() == converted[i].unit() && converted[j] > converted[i]) {
        throw ConfigError(fmt::format("{}: milestones must increase, but milestones[{}] = {} ({} in this run) comes "
                                      "after {} ({})", type_name(), i, options_.milestones()[i], converted[i],
                                      options_.milestones()[j], converted[j]));
      }
    }
  }
}

double MultiStepScheduler::operator()(const State& state, double ssr) const {
  return multistep_factor(options_.milestones(), options_.gamma(), state, ssr, type_name());
}

ExponentialScheduler::ExponentialScheduler(ExponentialSchedulerOptions options) : options_(std::move(options)) {
  check_gamma(options_.gamma(), type_name());
  check_schedule_time(options_.decay_period(), what("decay_period"), /*allow_zero=*/false);
}

double ExponentialScheduler::operator()(const State& state, double ssr) const {
  const Time period = convert_schedule_time(options_.decay_period(), state, ssr, what("decay_period"));
  if (period.count() == 0) {
    throw ConfigError(fmt::format("{}: decay_period {} is 0{} in this run (scale_schedule_ratio {})", type_name(),
                                  options_.decay_period(), to_string(period.unit()), ssr));
  }
  return std::pow(options_.gamma(), ratio(elapsed(state, period.unit()), period.count()));
}

}  // namespace tempo
