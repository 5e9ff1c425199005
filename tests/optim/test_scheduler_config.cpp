// Schedulers from YAML: Composer's registry names and argument names, defaults filled into the
// resolved config, a run that trains with them, and errors that point at the offending key.
#include <doctest/doctest.h>

#include <cmath>

#include "configs/config_test_support.h"
#include "tempo/optim/schedulers.h"

using namespace tempo;
using namespace tempo::testing;

TEST_SUITE("optim") {
  TEST_CASE("every Composer scheduler is registered under Composer's name") {
    auto r = builtin_registry();
    for (const std::string name :
         {"step", "multistep", "exponential", "linear_decay", "cosine_decay", "cosine_warmrestart", "constant",
          "polynomial", "multistep_with_warmup", "constant_with_warmup", "linear_decay_with_warmup",
          "cosine_decay_with_warmup", "polynomial_with_warmup"}) {
      CAPTURE(name);
      CHECK(r.schedulers.contains(name));
    }
  }

  TEST_CASE("a config with a warm-up cosine and scale_schedule_ratio builds and trains") {
    auto r = builtin_registry();
    const auto config = config::RunConfig::parse(
        tiny_config("scale_schedule_ratio: 2.0\nschedulers:\n  cosine_decay_with_warmup: {t_warmup: 2ba, alpha_f: 0.1}\n"),
        "run.yaml", {}, r);
    CHECK(config.resolved().child("schedulers").child("cosine_decay_with_warmup").child("t_max").as<Time>() ==
          Time::from_duration(1.0));
    auto options = config.build(r);
    REQUIRE(options.schedulers().size() == 1);
    auto scheduler = std::dynamic_pointer_cast<CosineAnnealingWithWarmupScheduler>(options.schedulers()[0]);
    REQUIRE(scheduler);
    CHECK(scheduler->options().t_warmup() == Time(2, TimeUnit::BATCH));
    CHECK(scheduler->options().alpha_f() == 0.1);
    Trainer trainer(options);
    CHECK(*trainer.state().max_duration == Time(8, TimeUnit::BATCH));  // 4ba stretched by 2
    trainer.fit();
    CHECK(trainer.state().timestamp.batch() == 8);
    // After batch 7 the scheduler evaluated alpha(7): tau = (7 - 2) / (8 - 2).
    const double expected = 1e-2 * (0.1 + 0.9 * 0.5 * (1 + std::cos(std::acos(-1.0) * 5.0 / 6.0)));
    CHECK(trainer.state().optimizers[0]->param_groups()[0].options().get_lr() == doctest::Approx(expected).epsilon(1e-13));
  }

  TEST_CASE("a bad scheduler argument names the file, line, key and what is wrong") {
    CHECK(config_error(tiny_config("schedulers:\n  step: {step_size: 2ba, gamma: -1}\n")) ==
          "run.yaml:11:33: schedulers.step.gamma: StepScheduler: gamma must be a finite number > 0, got -1");
    CHECK(config_error(tiny_config("schedulers:\n  multistep: {milestones: [2ba, 1ba]}\n")) ==
          "run.yaml:11:27: schedulers.multistep.milestones: MultiStepScheduler: milestones must increase, but "
          "milestones[1] = 1ba comes after 2ba");
    CHECK(config_error(tiny_config("schedulers:\n  multistep: {milestones: [2ba, two]}\n")).rfind(
              "run.yaml:11:33: schedulers.multistep.milestones.1: expected a time string like \"10ep\", \"500ba\" or "
              "\"0.5dur\", got \"two\"",
              0) == 0);
    CHECK(config_error(tiny_config("schedulers:\n  linear_decay_with_warmup: {t_warmup: 2ep, t_max: 1ep}\n")) ==
          "run.yaml:11:40: schedulers.linear_decay_with_warmup.t_warmup: LinearWithWarmupScheduler: t_warmup 2ep is "
          "longer than t_max 1ep");
    CHECK(config_error(tiny_config("schedulers:\n  cosine_decay: {t_max: 10sec}\n")) ==
          "run.yaml:11:25: schedulers.cosine_decay.t_max: CosineAnnealingScheduler: t_max: wall-clock time (10sec) is "
          "not an allowed unit for a schedule; use ep, ba, sp, tok, iter or dur");
    CHECK(config_error(tiny_config("schedulers:\n  step: {gamma: 0.5}\n")).find("missing required key 'step_size'") !=
          std::string::npos);
    CHECK(config_error(tiny_config("scale_schedule_ratio: fast\n")) ==
          "run.yaml:10:23: scale_schedule_ratio: expected a number, got \"fast\"");
  }

  TEST_CASE("errors only the run can reveal come from the Trainer, naming the scheduler and argument") {
    auto r = builtin_registry();
    // t_max shorter than max_duration (Composer's check), and units that do not convert alike.
    for (const auto& [extra, message] : std::vector<std::pair<std::string, std::string>>{
             {"schedulers:\n  cosine_decay_with_warmup: {t_warmup: 1ba, t_max: 3ba}\n",
              "CosineAnnealingWithWarmupScheduler: t_max 3ba (3ba in this run) must be at least max_duration 4ba, or "
              "the schedule does not cover the whole run"},
             {"schedulers:\n  cosine_decay_with_warmup: {t_warmup: 16sp}\n",
              "CosineAnnealingWithWarmupScheduler: t_warmup 16sp and t_max 1dur must be in units that convert alike; "
              "in this run they become 16sp and 4ba"}}) {
      CAPTURE(extra);
      auto options = config::RunConfig::parse(tiny_config(extra), "run.yaml", {}, r).build(r);
      CHECK_THROWS_WITH_AS(Trainer{options}, message.c_str(), ConfigError);
    }
  }
}
