#include "tempo/optim/annealing_schedulers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {

void check_finite(double value, const std::string& what) {
  if (!std::isfinite(value)) throw ConfigError(fmt::format("{}: expected a finite number, got {}", what, value));
}

void require_nonzero(const Time& converted, const Time& given, double ssr, const std::string& what) {
  if (converted.count() == 0) {
    throw ConfigError(fmt::format("{}: {} is 0{} in this run (scale_schedule_ratio {}); it must be at least 1",
                                  what, given, to_string(converted.unit()), ssr));
  }
}

double linear_alpha(double alpha_i, double alpha_f, const Time& t_max, const State& state, const std::string& what) {
  if (t_max.count() == 0) throw ConfigError(fmt::format("{}: the schedule is 0{} long in this run", what, to_string(t_max.unit())));
  const double frac = std::min(1.0, ratio(elapsed(state, t_max.unit()), t_max.count()));
  return alpha_i + frac * (alpha_f - alpha_i);
}

ConstantScheduler::ConstantScheduler(ConstantSchedulerOptions options) : options_(std::move(options)) {
  check_finite(options_.alpha(), what("alpha"));
  check_schedule_time(options_.t_max(), what("t_max"));
}

double ConstantScheduler::operator()(const State& state, double ssr) const {
  const Time t_max = convert_schedule_time(options_.t_max(), state, ssr, what("t_max"));
  return elapsed(state, t_max.unit()) < t_max.count() ? options_.alpha() : 1.0;
}

LinearScheduler::LinearScheduler(LinearSchedulerOptions options) : options_(std::move(options)) {
  check_finite(options_.alpha_i(), what("alpha_i"));
  check_finite(options_.alpha_f(), what("alpha_f"));
  check_schedule_time(options_.t_max(), what("t_max"), /*allow_zero=*/false);
}

double LinearScheduler::operator()(const State& state, double ssr) const {
  const Time t_max = convert_schedule_time(options_.t_max(), state, ssr, what("t_max"));
  require_nonzero(t_max, options_.t_max(), ssr, what("t_max"));
  return linear_alpha(options_.alpha_i(), options_.alpha_f(), t_max, state, what("t_max"));
}

CosineAnnealingScheduler::CosineAnnealingScheduler(CosineAnnealingSchedulerOptions options)
    : options_(std::move(options)) {
  check_schedule_time(options_.t_max(), what("t_max"), /*allow_zero=*/false);
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double CosineAnnealingScheduler::operator()(const State& state, double ssr) const {
  const Time t_max = convert_schedule_time(options_.t_max(), state, ssr, what("t_max"));
  require_nonzero(t_max, options_.t_max(), ssr, what("t_max"));
  return cosine_anneal(ratio(elapsed(state, t_max.unit()), t_max.count()), options_.alpha_f());
}

CosineAnnealingWarmRestartsScheduler::CosineAnnealingWarmRestartsScheduler(
    CosineAnnealingWarmRestartsSchedulerOptions options)
    : options_(std::move(options)) {
  check_schedule_time(options_.t_0(), what("t_0"), /*allow_zero=*/false);
  check_finite(options_.t_mult(), what("t_mult"));
  if (options_.t_mult() <= 0) throw ConfigError(fmt::format("{}: must be > 0, got {}", what("t_mult"), options_.t_mult()));
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double CosineAnnealingWarmRestartsScheduler::operator()(const State& state, double ssr) const {
  const Time t_0 = convert_schedule_time(options_.t_0(), state, ssr, what("t_0"));
  const int64_t now = elapsed(state, t_0.unit());
  int64_t length = t_0.count();
  int64_t end = t_0.count();
  while (end <= now) {
    if (length == 0) {
      throw ConfigError(fmt::format("{}: the interval between restarts has decayed to 0 (t_0 {}, t_mult {}, "
                                    "scale_schedule_ratio {})", type_name(), options_.t_0(), options_.t_mult(), ssr));
    }
    length = static_cast<int64_t>(options_.t_mult() * static_cast<double>(length));  // int(t_mult * len)
    end += length;
  }
  const int64_t start = end - length;
  return cosine_anneal(ratio(now - start, length), options_.alpha_f());
}

PolynomialScheduler::PolynomialScheduler(PolynomialSchedulerOptions options) : options_(std::move(options)) {
  check_finite(options_.power(), what("power"));
  check_schedule_time(options_.t_max(), what("t_max"), /*allow_zero=*/false);
  check_finite(options_.alpha_f(), what("alpha_f"));
}

double PolynomialScheduler::operator()(const State& state, double ssr) const {
  const Time t_max = convert_schedule_time(options_.t_max(), state, ssr, what("t_max"));
  require_nonzero(t_max, options_.t_max(), ssr, what("t_max"));
  const double frac = std::min(1.0, ratio(elapsed(state, t_max.unit()), t_max.count()));
  const double coeff = std::pow(1 - frac, options_.power());
  return options_.alpha_f() + coeff * (1.0 - options_.alpha_f());
}

}  // namespace tempo
