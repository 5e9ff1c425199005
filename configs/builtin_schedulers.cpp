// The learning-rate schedulers a config can name, under Composer's own registry names (its
// scheduler_hparams_registry, before Composer dropped YAML hparams), with Composer's argument
// names and defaults; see optim/schedulers.h for the formulas. Each options struct is described
// once (configs/options_description.h): its schema, its builder and the defaults in docs/config.md
// come from the description and the struct's own TORCH_ARG defaults.
#include <fmt/format.h>

#include <cctype>

#include "tempo/configs/options_description.h"
#include "tempo/configs/registry.h"
#include "tempo/optim/schedulers.h"

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

using Optimizers = std::vector<std::shared_ptr<torch::optim::Optimizer>>;

// The keys several schedulers share, each written once for every options struct that has the member.
template <typename O>
Field<O> t_max_key(Time& (O::*member)() noexcept) {
  return field("t_max", member, "Length of the schedule");
}
template <typename O>
Field<O> alpha_f_key(double& (O::*member)() noexcept) {
  return field("alpha_f", member, "Multiplier at the end of the schedule");
}
template <typename O>
Field<O> gamma_key(double& (O::*member)() noexcept, std::string doc = "Multiplicative decay factor") {
  return field("gamma", member, std::move(doc));
}
template <typename O>
Field<O> milestones_key(std::vector<Time>& (O::*member)() noexcept) {
  return required(field("milestones", member, "Times at which the lr is multiplied by gamma"));
}
template <typename O>
Field<O> t_warmup_key(Time& (O::*member)() noexcept) {
  return required(field("t_warmup", member, "Length of the linear warm-up from 0"));
}
template <typename O>
Field<O> scale_warmup_key(bool& (O::*member)() noexcept) {
  return field("scale_warmup", member, "scale_schedule_ratio also stretches the warm-up");
}

// Adds the scheduler S under `name`: its schema and its builder both come from `description`, the
// defaults from `defaults` (a struct whose required members hold stand-ins the config replaces).
template <typename S, typename O>
void add(Registry& r, const std::string& name, Description<O> description, O defaults) {
  if (r.schedulers.contains(name)) return;
  auto schema = description.schema(defaults);
  r.add_scheduler(name, [description = std::move(description), defaults](const Args& a, const Optimizers&) {
    return located(a, [&]() -> std::shared_ptr<Scheduler> {
      O options = defaults;
      description.read(a.node(), options);
      return std::make_shared<S>(options);
    });
  }, std::move(schema));
}

// A stand-in for a required time; never used, as resolution fails without the key.
const Time kRequired(0, TimeUnit::BATCH);

}  // namespace

void register_builtin_schedulers(Registry& r) {
  {
    using O = StepSchedulerOptions;
    add<StepScheduler, O>(r, "step", Description<O>({required(field("step_size", &O::step_size, "Time between decays")),
                                                      gamma_key(&O::gamma)}),
                          O(kRequired));
  }
  {
    using O = MultiStepSchedulerOptions;
    add<MultiStepScheduler, O>(r, "multistep", Description<O>({milestones_key(&O::milestones), gamma_key(&O::gamma)}),
                               O(std::vector<TimeArg>{}));
  }
  {
    using O = ExponentialSchedulerOptions;
    add<ExponentialScheduler, O>(
        r, "exponential",
        Description<O>({required(gamma_key(&O::gamma, "Multiplicative decay factor per decay_period")),
                        field("decay_period", &O::decay_period, "Time over which the lr is multiplied by gamma")}),
        O(1.0));
  }
  {
    using O = LinearSchedulerOptions;
    add<LinearScheduler, O>(
        r, "linear_decay",
        Description<O>({field("alpha_i", &O::alpha_i, "Multiplier at the start"), alpha_f_key(&O::alpha_f), t_max_key(&O::t_max)}),
        O());
  }
  {
    using O = CosineAnnealingSchedulerOptions;
    add<CosineAnnealingScheduler, O>(r, "cosine_decay", Description<O>({t_max_key(&O::t_max), alpha_f_key(&O::alpha_f)}), O());
  }
  {
    using O = CosineAnnealingWarmRestartsSchedulerOptions;
    add<CosineAnnealingWarmRestartsScheduler, O>(
        r, "cosine_warmrestart",
        Description<O>({required(field("t_0", &O::t_0, "Length of the first cycle")),
                        field("t_mult", &O::t_mult, "Each cycle's length over the previous one's"), alpha_f_key(&O::alpha_f)}),
        O(kRequired));
  }
  {
    using O = ConstantSchedulerOptions;
    add<ConstantScheduler, O>(
        r, "constant",
        Description<O>({field("alpha", &O::alpha, "Multiplier while t < t_max (1 after)"), t_max_key(&O::t_max)}), O());
  }
  {
    using O = PolynomialSchedulerOptions;
    add<PolynomialScheduler, O>(
        r, "polynomial",
        Description<O>({required(field("power", &O::power, "Exponent of the fraction of the schedule left")),
                        t_max_key(&O::t_max), alpha_f_key(&O::alpha_f)}),
        O(1.0));
  }
  {
    using O = MultiStepWithWarmupSchedulerOptions;
    add<MultiStepWithWarmupScheduler, O>(
        r, "multistep_with_warmup",
        Description<O>({t_warmup_key(&O::t_warmup), milestones_key(&O::milestones), gamma_key(&O::gamma),
                        scale_warmup_key(&O::scale_warmup)}),
        O(kRequired, std::vector<TimeArg>{}));
  }
  {
    using O = ConstantWithWarmupSchedulerOptions;
    add<ConstantWithWarmupScheduler, O>(
        r, "constant_with_warmup",
        Description<O>({t_warmup_key(&O::t_warmup), field("alpha", &O::alpha, "Multiplier after the warm-up"),
                        t_max_key(&O::t_max), scale_warmup_key(&O::scale_warmup)}),
        O(kRequired));
  }
  {
    using O = LinearWithWarmupSchedulerOptions;
    add<LinearWithWarmupScheduler, O>(
        r, "linear_decay_with_warmup",
        Description<O>({t_warmup_key(&O::t_warmup), field("alpha_i", &O::alpha_i, "Multiplier at the end of the warm-up"),
                        alpha_f_key(&O::alpha_f), t_max_key(&O::t_max), scale_warmup_key(&O::scale_warmup)}),
        O(kRequired));
  }
  {
    using O = CosineAnnealingWithWarmupSchedulerOptions;
    add<CosineAnnealingWithWarmupScheduler, O>(
        r, "cosine_decay_with_warmup",
        Description<O>({t_warmup_key(&O::t_warmup), t_max_key(&O::t_max), alpha_f_key(&O::alpha_f), scale_warmup_key(&O::scale_warmup)}),
        O(kRequired));
  }
  {
    using O = PolynomialWithWarmupSchedulerOptions;
    add<PolynomialWithWarmupScheduler, O>(
        r, "polynomial_with_warmup",
        Description<O>({t_warmup_key(&O::t_warmup),
                        field("power", &O::power, "Exponent of the fraction of the schedule left"), t_max_key(&O::t_max),
                        alpha_f_key(&O::alpha_f), scale_warmup_key(&O::scale_warmup)}),
        O(kRequired));
  }
}

}  // namespace tempo::config
