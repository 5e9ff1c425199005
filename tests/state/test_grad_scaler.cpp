// GradScaler on its own: PyTorch's torch.cuda.amp.GradScaler semantics (scale, unscale_ with the
// inf/NaN check, step skipping, update's backoff and growth) and its state_dict.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "tempo/errors/error.h"
#include "tempo/state/grad_scaler.h"
#include "tempo/state/tree.h"

using tempo::GradScaler;
using tempo::GradScalerOptions;

namespace {

struct Setup {
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd{std::vector<torch::Tensor>{w}, torch::optim::SGDOptions(1.0)};

  // Sets w's gradient to `grad` times the scale, as backward of a scaled loss would.
  void scaled_grad(const GradScaler& scaler, std::vector<float> grad) {
    w.mutable_grad() = torch::tensor(grad) * static_cast<float>(scaler.get_scale());
  }
};

c10::IValue tree(double scale, double growth, double backoff, int64_t interval, int64_t tracker) {
  auto d = tempo::new_tree_dict();
  d.insert("scale", scale);
  d.insert("growth_factor", growth);
  d.insert("backoff_factor", backoff);
  d.insert("growth_interval", interval);
  d.insert("_growth_tracker", tracker);
  return d;
}

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("PyTorch's defaults: init_scale 2**16, growth 2, backoff 0.5, interval 2000") {
    GradScaler scaler;
    CHECK(scaler.get_scale() == 65536.0);
    CHECK(scaler.growth_factor() == 2.0);
    CHECK(scaler.backoff_factor() == 0.5);
    CHECK(scaler.growth_interval() == 2000);
    CHECK(scaler.growth_tracker() == 0);
    CHECK(scaler.scale(torch::tensor(1.5f)).item<float>() == 98304.0f);
  }

  TEST_CASE("unscale_ divides the gradients; step applies them; a clean update counts toward growth") {
    Setup s;
    GradScaler scaler;
    s.scaled_grad(scaler, {0.5f, -0.25f, 2.0f});
    CHECK(scaler.step(s.sgd));  // unscales first
    CHECK(torch::equal(s.w.grad(), torch::tensor({0.5f, -0.25f, 2.0f})));
    CHECK(torch::equal(s.w.detach(), torch::tensor({0.5f, 1.25f, -1.0f})));
    CHECK_FALSE(scaler.found_inf());
    scaler.update();
    CHECK(scaler.get_scale() == 65536.0);
    CHECK(scaler.growth_tracker() == 1);
  }

  TEST_CASE("inf or NaN in any gradient: no step, scale times backoff, tracker reset") {
    for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
      CAPTURE(bad);
      Setup s;
      GradScaler scaler(GradScalerOptions().growth_interval(5));
      s.scaled_grad(scaler, {0.5f, 0.5f, 0.5f});
      CHECK(scaler.step(s.sgd));
      scaler.update();
      REQUIRE(scaler.growth_tracker() == 1);
      s.scaled_grad(scaler, {0.5f, bad, 0.5f});
      scaler.unscale_(s.sgd);
      CHECK(scaler.found_inf());
      CHECK_FALSE(scaler.step(s.sgd));
      CHECK(torch::equal(s.w.detach(), torch::tensor({0.5f, 0.5f, 0.5f})));  // unchanged by the skipped step
      scaler.update();
      CHECK(scaler.get_scale() == 32768.0);
      CHECK(scaler.growth_tracker() == 0);
    }
  }

  TEST_CASE("the scale grows after growth_interval clean updates, but never to inf") {
    Setup s;
    GradScaler scaler(GradScalerOptions().growth_interval(2).init_scale(2e38));
    for (int i = 0; i < 2; ++i) {
      s.scaled_grad(scaler, {1e-30f, 0, 0});
      scaler.step(s.sgd);
      scaler.update();
    }
    CHECK(scaler.get_scale() == static_cast<double>(2e38f));  // 4e38 overflows float32: not taken
    CHECK(scaler.growth_tracker() == 0);

    GradScaler small(GradScalerOptions().growth_interval(2).init_scale(4).growth_factor(3));
    for (int i = 0; i < 4; ++i) {
      s.scaled_grad(small, {1, 1, 1});
      small.step(s.sgd);
      small.update();
    }
    CHECK(small.get_scale() == 36.0);
  }

  TEST_CASE("out-of-order calls are refused as PyTorch refuses them") {
    Setup s;
    GradScaler scaler;
    s.scaled_grad(scaler, {1, 1, 1});
    CHECK_THROWS_AS(scaler.update(), tempo::Error);  // nothing unscaled yet
    scaler.unscale_(s.sgd);
    CHECK_THROWS_WITH_AS(scaler.unscale_(s.sgd), doctest::Contains("already been called"), tempo::Error);
    scaler.step(s.sgd);
    CHECK_THROWS_WITH_AS(scaler.step(s.sgd), doctest::Contains("already been called"), tempo::Error);
    CHECK_THROWS_WITH_AS(scaler.unscale_(s.sgd), doctest::Contains("after step()"), tempo::Error);
    scaler.update();
    s.w.mutable_grad() = torch::ones({3}, torch::kHalf);
    CHECK_THROWS_WITH_AS(scaler.unscale_(s.sgd), doctest::Contains("float16 gradients"), tempo::Error);
  }

  TEST_CASE("bad options are ConfigErrors naming the option") {
    CHECK_THROWS_WITH_AS(GradScaler(GradScalerOptions().growth_factor(1.0)),
                         "GradScalerOptions: growth_factor must be > 1 and finite, got 1", tempo::ConfigError);
    CHECK_THROWS_WITH_AS(GradScaler(GradScalerOptions().backoff_factor(1.0)),
                         "GradScalerOptions: backoff_factor must be in (0, 1), got 1", tempo::ConfigError);
    CHECK_THROWS_WITH_AS(GradScaler(GradScalerOptions().growth_interval(0)),
                         "GradScalerOptions: growth_interval must be > 0, got 0", tempo::ConfigError);
    CHECK_THROWS_AS(GradScaler(GradScalerOptions().init_scale(0)), tempo::ConfigError);
    CHECK_THROWS_AS(GradScaler(GradScalerOptions().init_scale(1e39)), tempo::ConfigError);  // inf in float32
  }

  TEST_CASE("state_dict has PyTorch's keys, in PyTorch's order, and load_state_dict takes it back exactly") {
    Setup s;
    GradScaler scaler(GradScalerOptions().growth_interval(7).backoff_factor(0.25));
    s.scaled_grad(scaler, {1, std::numeric_limits<float>::infinity(), 1});
    scaler.step(s.sgd);
    scaler.update();
    for (int i = 0; i < 3; ++i) {
      s.scaled_grad(scaler, {1, 1, 1});
      scaler.step(s.sgd);
      scaler.update();
    }
    const auto dict = scaler.state_dict().toGenericDict();
    std::vector<std::string> keys;
    for (const auto& e : dict) keys.push_back(e.key().toStringRef());
    CHECK(keys == std::vector<std::string>{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"});
    CHECK(dict.at("scale").toDouble() == 16384.0);
    CHECK(dict.at("growth_factor").toDouble() == 2.0);
    CHECK(dict.at("backoff_factor").toDouble() == 0.25);
    CHECK(dict.at("growth_interval").toInt() == 7);
    CHECK(dict.at("_growth_tracker").toInt() == 3);

    GradScaler fresh;
    fresh.load_state_dict(scaler.state_dict(), "state/scaler/GradScaler");
    CHECK(fresh.get_scale() == 16384.0);
    CHECK(fresh.backoff_factor() == 0.25);
    CHECK(fresh.growth_interval() == 7);
    CHECK(fresh.growth_tracker() == 3);
    // A scale that is not a power of two survives as the float32 it is.
    GradScaler odd(GradScalerOptions().init_scale(0.1));
    GradScaler copy;
    copy.load_state_dict(odd.state_dict(), "s");
    CHECK(copy.get_scale() == odd.get_scale());
  }

  TEST_CASE("load_state_dict refuses a tree that does not fit, naming the path, and changes nothing") {
    GradScaler scaler;
    CHECK_THROWS_WITH_AS(scaler.load_state_dict(tree(-1, 2, 0.5, 10, 0), "state/scaler/GradScaler"),
                         doctest::Contains("'state/scaler/GradScaler': scale must be positive"), tempo::CheckpointError);
    CHECK_THROWS_WITH_AS(scaler.load_state_dict(tree(8, 2, 0.5, 10, 10), "state/scaler/GradScaler"),
                         doctest::Contains("'state/scaler/GradScaler/_growth_tracker' must be in [0, growth_interval 10)"),
                         tempo::CheckpointError);
    auto missing = tree(8, 2, 0.5, 10, 0).toGenericDict();
    (void)missing.erase("growth_interval");
    CHECK_THROWS_WITH_AS(scaler.load_state_dict(missing, "state/scaler/GradScaler"),
                         "state tree: missing key 'state/scaler/GradScaler/growth_interval'", tempo::CheckpointError);
    CHECK(scaler.get_scale() == 65536.0);
    CHECK(scaler.growth_interval() == 2000);
  }
}
