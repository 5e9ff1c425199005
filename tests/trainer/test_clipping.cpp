// Gradient clipping (clipping_type / clipping_threshold): the gradients the optimizer sees are
// bounded, and State::grad_norm and the logged l2_norm/grad/global are the norm before clipping,
// checked against a norm computed here independently, in double precision.
#include <doctest/doctest.h>

#include <cmath>

#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

double norm_in_double(const std::vector<torch::Tensor>& grads) {
  double sum = 0.0;
  for (const auto& g : grads) sum += g.to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

double max_abs(const std::vector<torch::Tensor>& grads) {
  double m = 0.0;
  for (const auto& g : grads) m = std::max(m, g.abs().max().item<double>());
  return m;
}

// The gradients right after backward (before clipping) and as the optimizer gets them.
class ClipProbe : public Callback {
 public:
  std::vector<std::vector<torch::Tensor>> before, after;
  std::vector<double> state_norms;

 protected:
  void on_after_backward(State& state, Logger&) override { before.push_back(grads(state)); }
  void on_after_train_batch(State& state, Logger&) override {
    after.push_back(grads(state));
    REQUIRE(state.grad_norm.has_value());
    state_norms.push_back(*state.grad_norm);
  }

 private:
  static std::vector<torch::Tensor> grads(State& state) {
    std::vector<torch::Tensor> out;
    for (const auto& p : state.model->parameters()) out.push_back(p.grad().clone());
    return out;
  }
};

class NormLog : public LoggerDestination {
 public:
  std::vector<double> norms;
  void log_metrics(const Metrics& m, int64_t) override {
    if (auto it = m.find("l2_norm/grad/global"); it != m.end()) norms.push_back(it->second);
  }
  void log_hyperparameters(const Hyperparameters&) override {}
};

Run clipped_run(ClippingType type, double threshold, std::vector<std::shared_ptr<Callback>> callbacks,
                std::shared_ptr<LoggerDestination> log = nullptr) {
  return make_run(blobs(24), "6ba", 42, 7, std::move(callbacks), 4, [&](TrainerOptions& o) {
    o.clipping_type(type).clipping_threshold(threshold);
    if (log) o.loggers({log});
  });
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("clipping by norm bounds the global norm; grad_norm and the log give the norm before clipping") {
    const double threshold = 0.05;
    auto probe = std::make_shared<ClipProbe>();
    auto log = std::make_shared<NormLog>();
    auto run = clipped_run(ClippingType::NORM, threshold, {probe}, log);
    run.trainer->fit();
    REQUIRE(probe->after.size() == 6);
    REQUIRE(log->norms.size() == 6);
    for (size_t b = 0; b < 6; ++b) {
      CAPTURE(b);
      const double before = norm_in_double(probe->before[b]);
      const double after = norm_in_double(probe->after[b]);
      REQUIRE(before > 2 * threshold);  // else this test would not exercise clipping
      // float32 norms of float32 gradients: a few roundings each, 1e-5 covers them.
      CHECK(probe->state_norms[b] == doctest::Approx(before).epsilon(1e-5));
      CHECK(log->norms[b] == probe->state_norms[b]);
      CHECK(after <= threshold * (1 + 1e-5));
      CHECK(after == doctest::Approx(threshold).epsilon(1e-4));  // scaled down to the threshold, not below
      // Clipping by norm keeps the direction.
      for (size_t i = 0; i < probe->before[b].size(); ++i) {
        CHECK(torch::allclose(probe->after[b][i], probe->before[b][i] * (after / before), 1e-5, 1e-9));
      }
    }
  }

  TEST_CASE("clipping by value clamps every element and leaves the smaller ones alone") {
    const double threshold = 0.02;
    auto probe = std::make_shared<ClipProbe>();
    auto run = clipped_run(ClippingType::VALUE, threshold, {probe});
    run.trainer->fit();
    REQUIRE(probe->after.size() == 6);
    for (size_t b = 0; b < 6; ++b) {
      CAPTURE(b);
      REQUIRE(max_abs(probe->before[b]) > threshold);
      CHECK(max_abs(probe->after[b]) <= threshold);
      for (size_t i = 0; i < probe->before[b].size(); ++i) {
        CHECK(torch::equal(probe->after[b][i], probe->before[b][i].clamp(-threshold, threshold)));
      }
      CHECK(probe->state_norms[b] == doctest::Approx(norm_in_double(probe->before[b])).epsilon(1e-5));
    }
  }

  TEST_CASE("adaptive clipping bounds each unit's gradient norm by threshold times its weight norm") {
    const double threshold = 0.01;
    // The weights the ratio is taken against, captured before each step.
    class WeightProbe : public Callback {
     public:
      std::vector<torch::Tensor> fc1;

     protected:
      void on_after_train_batch(State& state, Logger&) override {
        fc1.push_back(state.model->named_parameters()["fc1.weight"].detach().clone());
      }
    };
    auto probe = std::make_shared<ClipProbe>();
    auto weights_probe = std::make_shared<WeightProbe>();
    auto run = clipped_run(ClippingType::ADAPTIVE, threshold, {probe, weights_probe});
    run.trainer->fit();
    REQUIRE(weights_probe->fc1.size() == 6);
    bool some_clipped = false;
    for (size_t b = 0; b < 6; ++b) {
      CAPTURE(b);
      // fc1.weight is parameter 0: [16, 8], one unit per row.
      const auto w_rows = weights_probe->fc1[b].norm(2, {1});
      const auto g_after = probe->after[b][0].norm(2, {1});
      const auto g_before = probe->before[b][0].norm(2, {1});
      CHECK((g_after <= w_rows * threshold * (1 + 1e-5) + 1e-12).all().item<bool>());
      some_clipped = some_clipped || (g_before > w_rows * threshold).any().item<bool>();
    }
    CHECK(some_clipped);
  }

  TEST_CASE("a threshold above the norm changes nothing: weights bit-equal to an unclipped run") {
    auto plain = make_run(blobs(24), "6ba");
    plain.trainer->fit();
    auto loose = clipped_run(ClippingType::NORM, 1e6, {});
    loose.trainer->fit();
    CHECK(bit_equal(weights(*plain.model), weights(*loose.model)));
    CHECK(loose.trainer->state().grad_norm.has_value());
    CHECK_FALSE(plain.trainer->state().grad_norm.has_value());
    // ... and a tight one does change them.
    auto tight = clipped_run(ClippingType::NORM, 1e-3, {});
    tight.trainer->fit();
    CHECK_FALSE(bit_equal(weights(*plain.model), weights(*tight.model)));
  }

  TEST_CASE("a clipping type without a positive threshold is refused") {
    CHECK_THROWS_WITH_AS(clipped_run(ClippingType::NORM, 0.0, {}),
                         "clipping_threshold must be > 0 with clipping_type norm, got 0", ConfigError);
  }
}
