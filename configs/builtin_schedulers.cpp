// The learning-rate schedulers a config can name, under Composer's own registry names (its
// scheduler_hparams_registry, before Composer dropped YAML hparams), with Composer's argument
// names and defaults; see optim/schedulers.h for the formulas.
#include <fmt/format.h>

#include <cctype>

#include "configs/registry.h"
#include "optim/schedulers.h"

namespace tempo::config {

namespace {

// A scheduler's complaint names its argument ("StepScheduler: gamma must be ..."): point at
// that key when the config has it, else leave the location to the part's builder.
template <typename Make>
std::shared_ptr<Scheduler> located(const Args& a, Make make) {
  try {
    return make();
  } catch (const LocatedConfigError&) {
    throw;
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    const auto colon = message.find(": ");
    if (colon != std::string::npos) {
      size_t end = colon + 2;
      while (end < message.size() && (std::islower(static_cast<unsigned char>(message[end])) || message[end] == '_' ||
                                      std::isdigit(static_cast<unsigned char>(message[end])))) {
        ++end;
      }
      const auto key = message.substr(colon + 2, end - colon - 2);
      if (!key.empty() && a.node().has(key)) {
        const auto node = a.node().child(key);
        throw LocatedConfigError(fmt::format("{}: {}: {}", node.where(), node.path(), message));
      }
    }
    throw;
  }
}

std::vector<TimeArg> milestones(const Args& a) {
  const auto strings = a.get<std::vector<std::string>>("milestones");
  std::vector<TimeArg> out;
  for (size_t i = 0; i < strings.size(); ++i) {
    try {
      out.emplace_back(Time::parse(strings[i]));
    } catch (const TimeError& e) {
      const auto node = a.node().child("milestones").at(i);
      throw LocatedConfigError(fmt::format("{}: {}: expected a time string like \"10ep\", \"500ba\" or \"0.5dur\", "
                                           "got \"{}\" ({})", node.where(), node.path(), strings[i], e.what()));
    }
  }
  return out;
}

const KeySpec kScaleWarmup{"scale_warmup", "bool", "false", "scale_schedule_ratio also stretches the warm-up"};
const KeySpec kWarmup{"t_warmup", "time", "", "Length of the linear warm-up from 0"};
const KeySpec kTMax{"t_max", "time", "1dur", "Length of the schedule"};
const KeySpec kAlphaF{"alpha_f", "float", "0.0", "Multiplier at the end of the schedule"};
const KeySpec kGamma{"gamma", "float", "0.1", "Multiplicative decay factor"};
const KeySpec kMilestones{"milestones", "list[string]", "", "Times at which the lr is multiplied by gamma"};

void add(Registry& r, const std::string& name, SchedulerFactory factory, Schema schema) {
  if (!r.schedulers.contains(name)) r.add_scheduler(name, std::move(factory), std::move(schema));
}

}  // namespace

void register_builtin_schedulers(Registry& r) {
  using Optimizers = std::vector<std::shared_ptr<torch::optim::Optimizer>>;
  add(r, "step", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<StepScheduler>(StepSchedulerOptions(a.get<Time>("step_size")).gamma(a.get<double>("gamma")));
    });
  }, {{"step_size", "time", "", "Time between decays"}, kGamma});

  add(r, "multistep", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<MultiStepScheduler>(MultiStepSchedulerOptions(milestones(a)).gamma(a.get<double>("gamma")));
    });
  }, {kMilestones, kGamma});

  add(r, "exponential", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<ExponentialScheduler>(
          ExponentialSchedulerOptions(a.get<double>("gamma")).decay_period(a.get<Time>("decay_period")));
    });
  }, {{"gamma", "float", "", "Multiplicative decay factor per decay_period"},
      {"decay_period", "time", "1ep", "Time over which the lr is multiplied by gamma"}});

  add(r, "linear_decay", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<LinearScheduler>(LinearSchedulerOptions()
                                                   .alpha_i(a.get<double>("alpha_i"))
                                                   .alpha_f(a.get<double>("alpha_f"))
                                                   .t_max(a.get<Time>("t_max")));
    });
  }, {{"alpha_i", "float", "1.0", "Multiplier at the start"}, kAlphaF, kTMax});

  add(r, "cosine_decay", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<CosineAnnealingScheduler>(
          CosineAnnealingSchedulerOptions().t_max(a.get<Time>("t_max")).alpha_f(a.get<double>("alpha_f")));
    });
  }, {kTMax, kAlphaF});

  add(r, "cosine_warmrestart", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<CosineAnnealingWarmRestartsScheduler>(
          CosineAnnealingWarmRestartsSchedulerOptions(a.get<Time>("t_0"))
              .t_mult(a.get<double>("t_mult"))
              .alpha_f(a.get<double>("alpha_f")));
    });
  }, {{"t_0", "time", "", "Length of the first cycle"},
      {"t_mult", "float", "1.0", "Each cycle's length over the previous one's"}, kAlphaF});

  add(r, "constant", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<ConstantScheduler>(
          ConstantSchedulerOptions().alpha(a.get<double>("alpha")).t_max(a.get<Time>("t_max")));
    });
  }, {{"alpha", "float", "1.0", "Multiplier while t < t_max (1 after)"}, kTMax});

  add(r, "polynomial", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<PolynomialScheduler>(PolynomialSchedulerOptions(a.get<double>("power"))
                                                       .t_max(a.get<Time>("t_max"))
                                                       .alpha_f(a.get<double>("alpha_f")));
    });
  }, {{"power", "float", "", "Exponent of the fraction of the schedule left"}, kTMax, kAlphaF});

  add(r, "multistep_with_warmup", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<MultiStepWithWarmupScheduler>(
          MultiStepWithWarmupSchedulerOptions(a.get<Time>("t_warmup"), milestones(a))
              .gamma(a.get<double>("gamma"))
              .scale_warmup(a.get<bool>("scale_warmup")));
    });
  }, {kWarmup, kMilestones, kGamma, kScaleWarmup});

  add(r, "constant_with_warmup", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<ConstantWithWarmupScheduler>(ConstantWithWarmupSchedulerOptions(a.get<Time>("t_warmup"))
                                                               .alpha(a.get<double>("alpha"))
                                                               .t_max(a.get<Time>("t_max"))
                                                               .scale_warmup(a.get<bool>("scale_warmup")));
    });
  }, {kWarmup, {"alpha", "float", "1.0", "Multiplier after the warm-up"}, kTMax, kScaleWarmup});

  add(r, "linear_decay_with_warmup", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<LinearWithWarmupScheduler>(LinearWithWarmupSchedulerOptions(a.get<Time>("t_warmup"))
                                                             .alpha_i(a.get<double>("alpha_i"))
                                                             .alpha_f(a.get<double>("alpha_f"))
                                                             .t_max(a.get<Time>("t_max"))
                                                             .scale_warmup(a.get<bool>("scale_warmup")));
    });
  }, {kWarmup, {"alpha_i", "float", "1.0", "Multiplier at the end of the warm-up"}, kAlphaF, kTMax, kScaleWarmup});

  add(r, "cosine_decay_with_warmup", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<CosineAnnealingWithWarmupScheduler>(
          CosineAnnealingWithWarmupSchedulerOptions(a.get<Time>("t_warmup"))
              .t_max(a.get<Time>("t_max"))
              .alpha_f(a.get<double>("alpha_f"))
              .scale_warmup(a.get<bool>("scale_warmup")));
    });
  }, {kWarmup, kTMax, kAlphaF, kScaleWarmup});

  add(r, "polynomial_with_warmup", [](const Args& a, const Optimizers&) {
    return located(a, [&] {
      return std::make_shared<PolynomialWithWarmupScheduler>(
          PolynomialWithWarmupSchedulerOptions(a.get<Time>("t_warmup"))
              .power(a.get<double>("power"))
              .t_max(a.get<Time>("t_max"))
              .alpha_f(a.get<double>("alpha_f"))
              .scale_warmup(a.get<bool>("scale_warmup")));
    });
  }, {kWarmup, {"power", "float", "2.0", "Exponent of the fraction of the schedule left"}, kTMax, kAlphaF, kScaleWarmup});
}

}  // namespace tempo::config
