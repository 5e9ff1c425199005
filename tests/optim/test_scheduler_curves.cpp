// Each Composer scheduler's alpha at chosen timestamps against closed forms written here, in
// batch, epoch, sample and dur units, mid-warm-up and after, with and without
// scale_schedule_ratio (the State's max_duration is then the scaled one, as the Trainer sets it).
#include <doctest/doctest.h>

#include <cmath>

#include "tempo/optim/schedulers.h"
#include "optim/scheduler_test_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

double alpha_at(const ComposerScheduler& scheduler, State& state, int64_t batch, double ssr = 1.0) {
  at_batch(state, batch);
  return scheduler(state, ssr);
}

double cosine(double tau, double alpha_f) { return alpha_f + (1 - alpha_f) * 0.5 * (1 + std::cos(kPi * tau)); }

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("StepScheduler: gamma ^ floor(t / step_size), step_size in ba or ep, scaled by the ratio") {
    auto state = schedule_state("3ep");
    StepScheduler in_batches(StepSchedulerOptions("3ba").gamma(0.5));
    for (int64_t t : {0, 2, 3, 7, 29}) {
      CAPTURE(t);
      CHECK(alpha_at(in_batches, state, t) == doctest::Approx(std::pow(0.5, t / 3)).epsilon(1e-15));
    }
    StepScheduler in_epochs(StepSchedulerOptions("1ep"));  // gamma 0.1 by default
    CHECK(alpha_at(in_epochs, state, 9) == 1.0);
    CHECK(alpha_at(in_epochs, state, 10) == doctest::Approx(0.1));
    CHECK(alpha_at(in_epochs, state, 25) == doctest::Approx(0.01));
    // ratio 2: a step every 6 batches; 1ep becomes 20 batches.
    CHECK(alpha_at(in_batches, state, 5, 2.0) == 1.0);
    CHECK(alpha_at(in_batches, state, 6, 2.0) == 0.5);
    CHECK(alpha_at(in_batches, state, 12, 2.0) == 0.25);
    CHECK(alpha_at(in_epochs, state, 19, 2.0) == 1.0);
    CHECK(alpha_at(in_epochs, state, 20, 2.0) == doctest::Approx(0.1));
  }

  TEST_CASE("MultiStepScheduler: gamma per milestone reached, in ba, ep and dur") {
    auto state = schedule_state("2ep");  // 20 batches: 0.75dur is batch 15
    MultiStepScheduler scheduler(MultiStepSchedulerOptions({"5ba", "1ep", "0.75dur"}).gamma(0.5));
    CHECK(alpha_at(scheduler, state, 0) == 1.0);
    CHECK(alpha_at(scheduler, state, 4) == 1.0);
    CHECK(alpha_at(scheduler, state, 5) == 0.5);
    CHECK(alpha_at(scheduler, state, 10) == 0.25);
    CHECK(alpha_at(scheduler, state, 14) == 0.25);
    CHECK(alpha_at(scheduler, state, 15) == 0.125);
    // ratio 0.5 over the scaled run of 1ep: 5ba -> 2ba, 1ep -> 5ba, and dur follows max_duration.
    auto scaled = schedule_state("1ep");
    CHECK(alpha_at(scheduler, scaled, 1, 0.5) == 1.0);
    CHECK(alpha_at(scheduler, scaled, 2, 0.5) == 0.5);
    CHECK(alpha_at(scheduler, scaled, 5, 0.5) == 0.25);
    CHECK(alpha_at(scheduler, scaled, 7, 0.5) == 0.125);  // int(0.75 * 10)
  }

  TEST_CASE("ConstantScheduler: alpha until t_max, then 1") {
    auto state = schedule_state("20ba");
    ConstantScheduler scheduler(ConstantSchedulerOptions().alpha(0.5).t_max("0.5dur"));
    CHECK(alpha_at(scheduler, state, 0) == 0.5);
    CHECK(alpha_at(scheduler, state, 9) == 0.5);
    CHECK(alpha_at(scheduler, state, 10) == 1.0);
    CHECK(ConstantScheduler()(state) == 1.0);  // the defaults keep the lr
  }

  TEST_CASE("LinearScheduler: from alpha_i to alpha_f over t_max, then alpha_f") {
    auto state = schedule_state("3ep");
    LinearScheduler scheduler(LinearSchedulerOptions().alpha_i(1.0).alpha_f(0.2).t_max("1ep"));
    for (int64_t t : {0, 3, 5, 10, 15}) {
      CAPTURE(t);
      const double tau = std::min(1.0, t / 10.0);
      CHECK(alpha_at(scheduler, state, t) == doctest::Approx(1.0 + tau * (0.2 - 1.0)).epsilon(1e-15));
    }
    LinearScheduler defaults;  // 1 -> 0 over the whole run
    CHECK(alpha_at(defaults, state, 15) == doctest::Approx(0.5));
  }

  TEST_CASE("ExponentialScheduler: gamma ^ (t / decay_period)") {
    auto state = schedule_state("3ep");
    ExponentialScheduler scheduler(ExponentialSchedulerOptions(0.5));  // decay_period 1ep
    for (int64_t t : {0, 5, 10, 23}) {
      CAPTURE(t);
      CHECK(alpha_at(scheduler, state, t) == doctest::Approx(std::pow(0.5, t / 10.0)).epsilon(1e-15));
    }
  }

  TEST_CASE("CosineAnnealingScheduler: half a cosine over t_max, in dur and in samples") {
    auto state = schedule_state("2ep");
    CosineAnnealingScheduler over_run(CosineAnnealingSchedulerOptions().alpha_f(0.1));  // t_max 1dur = 20 batches
    CosineAnnealingScheduler in_samples(CosineAnnealingSchedulerOptions().t_max("40sp"));
    for (int64_t t : {0, 1, 7, 10, 19}) {
      CAPTURE(t);
      CHECK(alpha_at(over_run, state, t) == doctest::Approx(cosine(t / 20.0, 0.1)).epsilon(1e-14));
      CHECK(alpha_at(in_samples, state, t) == doctest::Approx(cosine(std::min(1.0, t * 4 / 40.0), 0.0)).epsilon(1e-14));
    }
  }

  TEST_CASE("CosineAnnealingWarmRestartsScheduler: cycles of t_0, t_0 * t_mult, ...") {
    auto state = schedule_state("6ep");
    CosineAnnealingWarmRestartsScheduler doubling(CosineAnnealingWarmRestartsSchedulerOptions("4ba").t_mult(2.0));
    // cycles [0, 4), [4, 12), [12, 28), [28, 60)
    CHECK(alpha_at(doubling, state, 0) == 1.0);
    CHECK(alpha_at(doubling, state, 2) == doctest::Approx(cosine(0.5, 0)));
    CHECK(alpha_at(doubling, state, 4) == 1.0);
    CHECK(alpha_at(doubling, state, 5) == doctest::Approx(cosine(1.0 / 8, 0)).epsilon(1e-14));
    CHECK(alpha_at(doubling, state, 27) == doctest::Approx(cosine(15.0 / 16, 0)).epsilon(1e-14));
    CHECK(alpha_at(doubling, state, 28) == 1.0);
    // t_mult 1.5: lengths 4, 6, 9 (int(1.5 * 6)), 13
    CosineAnnealingWarmRestartsScheduler slower(CosineAnnealingWarmRestartsSchedulerOptions("4ba").t_mult(1.5).alpha_f(0.2));
    CHECK(alpha_at(slower, state, 12) == doctest::Approx(cosine(2.0 / 9, 0.2)).epsilon(1e-14));
    CHECK(alpha_at(slower, state, 19) == 1.0);
  }

  TEST_CASE("PolynomialScheduler: alpha_f + (1 - alpha_f) (1 - tau) ^ power") {
    auto state = schedule_state("20ba");
    PolynomialScheduler scheduler(PolynomialSchedulerOptions(2.0).alpha_f(0.1));
    for (int64_t t : {0, 5, 13, 20}) {
      CAPTURE(t);
      CHECK(alpha_at(scheduler, state, t) == doctest::Approx(0.1 + 0.9 * std::pow(1 - t / 20.0, 2)).epsilon(1e-14));
    }
  }

  TEST_CASE("CosineAnnealingWithWarmupScheduler: t / t_warmup, then the cosine over t_max - t_warmup") {
    auto state = schedule_state("2ep");  // 20 batches; 0.25dur = 5 batches
    CosineAnnealingWithWarmupScheduler scheduler(CosineAnnealingWithWarmupSchedulerOptions("0.25dur").alpha_f(0.1));
    CHECK(alpha_at(scheduler, state, 0) == 0.0);
    CHECK(alpha_at(scheduler, state, 2) == doctest::Approx(0.4));
    CHECK(alpha_at(scheduler, state, 4) == doctest::Approx(0.8));
    for (int64_t t : {5, 6, 12, 19}) {
      CAPTURE(t);
      CHECK(alpha_at(scheduler, state, t) == doctest::Approx(cosine((t - 5) / 15.0, 0.1)).epsilon(1e-14));
    }
    // In epochs: a 1ep warm-up is 10 batches.
    CosineAnnealingWithWarmupScheduler epochs(CosineAnnealingWithWarmupSchedulerOptions("1ep"));
    CHECK(alpha_at(epochs, state, 7) == doctest::Approx(0.7));
    CHECK(alpha_at(epochs, state, 15) == doctest::Approx(cosine(0.5, 0)));
  }

  TEST_CASE("warm-up and scale_schedule_ratio: the warm-up keeps its length unless scale_warmup") {
    auto scaled = schedule_state("10ba");  // max_duration 20ba scaled by 0.5
    const auto options = CosineAnnealingWithWarmupSchedulerOptions("4ba").t_max("20ba");
    CosineAnnealingWithWarmupScheduler plain(options);
    CosineAnnealingWithWarmupScheduler stretched(CosineAnnealingWithWarmupSchedulerOptions(options).scale_warmup(true));
    // t_warmup stays 4 batches; t_max becomes 10.
    CHECK(alpha_at(plain, scaled, 2, 0.5) == doctest::Approx(0.5));
    CHECK(alpha_at(plain, scaled, 6, 0.5) == doctest::Approx(cosine(2.0 / 6, 0)).epsilon(1e-14));
    // scale_warmup: the ramp is 2 batches long, but the switch to the cosine stays at batch 4, as in Composer.
    CHECK(alpha_at(stretched, scaled, 1, 0.5) == doctest::Approx(0.5));
    CHECK(alpha_at(stretched, scaled, 3, 0.5) == 1.0);
    CHECK(alpha_at(stretched, scaled, 6, 0.5) == doctest::Approx(cosine(2.0 / 6, 0)).epsilon(1e-14));
  }

  TEST_CASE("LinearWithWarmupScheduler: 0 -> alpha_i over t_warmup, then alpha_i -> alpha_f") {
    auto state = schedule_state("3ep");
    LinearWithWarmupScheduler scheduler(
        LinearWithWarmupSchedulerOptions("1ep").alpha_i(0.8).alpha_f(0.2).t_max("3ep"));
    CHECK(alpha_at(scheduler, state, 5) == doctest::Approx(0.4));
    for (int64_t t : {10, 15, 29}) {
      CAPTURE(t);
      CHECK(alpha_at(scheduler, state, t) == doctest::Approx(0.8 + (t - 10) / 20.0 * (0.2 - 0.8)).epsilon(1e-14));
    }
    // ratio 2 over the scaled 6ep: t_max 3ep -> 60 batches, the 1ep warm-up stays 10.
    auto scaled = schedule_state("6ep");
    CHECK(alpha_at(scheduler, scaled, 5, 2.0) == doctest::Approx(0.4));
    CHECK(alpha_at(scheduler, scaled, 35, 2.0) == doctest::Approx(0.8 + 25 / 50.0 * (0.2 - 0.8)).epsilon(1e-14));
  }

  TEST_CASE("ConstantWithWarmupScheduler and PolynomialWithWarmupScheduler") {
    auto state = schedule_state("20ba");
    ConstantWithWarmupScheduler constant(ConstantWithWarmupSchedulerOptions("2ba").alpha(0.5));
    CHECK(alpha_at(constant, state, 1) == doctest::Approx(0.25));
    CHECK(alpha_at(constant, state, 2) == 0.5);
    CHECK(alpha_at(constant, state, 19) == 0.5);
    PolynomialWithWarmupScheduler poly(PolynomialWithWarmupSchedulerOptions("5ba").power(3.0).alpha_f(0.1));
    CHECK(alpha_at(poly, state, 3) == doctest::Approx(0.6));
    for (int64_t t : {5, 9, 19}) {
      CAPTURE(t);
      CHECK(alpha_at(poly, state, t) == doctest::Approx(0.1 + 0.9 * std::pow(1 - (t - 5) / 15.0, 3)).epsilon(1e-14));
    }
  }

  TEST_CASE("MultiStepWithWarmupScheduler: t / t_warmup, then gamma per milestone") {
    auto state = schedule_state("2ep");
    MultiStepWithWarmupScheduler scheduler(MultiStepWithWarmupSchedulerOptions("4ba", {"1ep", "15ba"}).gamma(0.5));
    CHECK(alpha_at(scheduler, state, 1) == doctest::Approx(0.25));
    CHECK(alpha_at(scheduler, state, 4) == 1.0);
    CHECK(alpha_at(scheduler, state, 9) == 1.0);
    CHECK(alpha_at(scheduler, state, 10) == 0.5);
    CHECK(alpha_at(scheduler, state, 15) == 0.25);
  }

  TEST_CASE("FunctionScheduler: any function of the state") {
    auto state = schedule_state("2ep");
    FunctionScheduler halve_later([](const State& s) { return s.timestamp.epoch() < 1 ? 1.0 : 0.5; });
    CHECK(alpha_at(halve_later, state, 9) == 1.0);
    CHECK(alpha_at(halve_later, state, 10) == 0.5);
  }
}
