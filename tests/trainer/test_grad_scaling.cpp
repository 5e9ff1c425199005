// The GradScaler inside the trainer, on the CPU through TrainerOptions::grad_scaler (loss scaling
// with fp32 math): an inf injected into a gradient at AFTER_BACKWARD skips that optimizer step,
// halves the scale and says so in State; the scaler's state resumes exactly from a checkpoint.
#include <doctest/doctest.h>

#include <limits>
#include <set>

#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/grad_scaler.h"
#include "tempo/state/tree.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Puts an inf (or NaN) into fc1.weight's gradient during the given batches (0-based count of
// batches already trained), after backward, as an overflow would.
class InjectNonFinite : public Callback {
 public:
  InjectNonFinite(std::set<int64_t> batches, double value) : batches_(std::move(batches)), value_(value) {}

 protected:
  void on_after_backward(State& state, Logger&) override {
    if (!batches_.count(state.timestamp.batch())) return;
    torch::NoGradGuard no_grad;
    state.model->parameters()[0].grad()[0][0] = value_;
  }

 private:
  std::set<int64_t> batches_;
  double value_;
};

// Per batch: whether the weights moved, the step flag and the scaler's state at BATCH_END.
class StepProbe : public Callback {
 public:
  std::vector<bool> moved, skipped;
  std::vector<double> scales;
  std::vector<int64_t> trackers;

 protected:
  void on_before_train_batch(State& state, Logger&) override { before_ = weights(*state.model); }
  void on_batch_end(State& state, Logger&) override {
    moved.push_back(!bit_equal(before_, weights(*state.model)));
    skipped.push_back(state.optimizer_step_was_skipped);
    REQUIRE(state.scaler);
    scales.push_back(state.scaler->get_scale());
    trackers.push_back(state.scaler->growth_tracker());
  }

 private:
  std::vector<torch::Tensor> before_;
};

auto with_scaler(int64_t growth_interval = 2000) {
  return [growth_interval](TrainerOptions& o) { o.grad_scaler(GradScalerOptions().growth_interval(growth_interval)); };
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("an inf gradient skips the step, keeps the weights and Adam's state, halves the scale") {
    auto probe = std::make_shared<StepProbe>();
    auto inject = std::make_shared<InjectNonFinite>(std::set<int64_t>{2}, std::numeric_limits<double>::infinity());
    auto run = make_run(blobs(24), "5ba", 42, 7, {inject, probe}, 4, with_scaler());
    run.trainer->fit();
    CHECK(probe->moved == std::vector<bool>{true, true, false, true, true});
    CHECK(probe->skipped == std::vector<bool>{false, false, true, false, false});
    CHECK(probe->scales == std::vector<double>{65536, 65536, 32768, 32768, 32768});
    CHECK(probe->trackers == std::vector<int64_t>{1, 2, 0, 1, 2});
    // Adam counted 4 steps, not 5.
    const auto adam = adam_tensors(*run.optimizer);
    CHECK(adam[2].item<double>() == 4);
    for (const auto& w : weights(*run.model)) CHECK(torch::isfinite(w).all().item<bool>());
  }

  TEST_CASE("a NaN gradient is caught like an inf") {
    auto probe = std::make_shared<StepProbe>();
    auto inject = std::make_shared<InjectNonFinite>(std::set<int64_t>{0}, std::numeric_limits<double>::quiet_NaN());
    auto run = make_run(blobs(8), "2ba", 42, 7, {inject, probe}, 4, with_scaler());
    run.trainer->fit();
    CHECK(probe->skipped == std::vector<bool>{true, false});
    CHECK(probe->moved == std::vector<bool>{false, true});
    CHECK(probe->scales == std::vector<double>{32768, 32768});
  }

  TEST_CASE("the scale doubles after growth_interval clean steps") {
    auto probe = std::make_shared<StepProbe>();
    auto run = make_run(blobs(24), "6ba", 42, 7, {probe}, 4, with_scaler(3));
    run.trainer->fit();
    CHECK(probe->scales == std::vector<double>{65536, 65536, 131072, 131072, 131072, 262144});
    CHECK(probe->trackers == std::vector<int64_t>{1, 2, 0, 1, 2, 0});
  }

  TEST_CASE("loss scaling by a power of two without overflow trains exactly as without it") {
    auto scaled = make_run(blobs(24), "2ep", with_scaler());
    scaled.trainer->fit();
    auto plain = make_run(blobs(24), "2ep");
    plain.trainer->fit();
    CHECK(bit_equal(weights(*plain.model), weights(*scaled.model)));
    CHECK_FALSE(plain.trainer->state().scaler);
  }

  TEST_CASE("the scaler's state is saved as Composer's state/scaler/GradScaler and resumes exactly") {
    auto data = blobs(40);  // 10 batches per epoch
    TempDir dir;
    auto inject = [] {
      return std::make_shared<InjectNonFinite>(std::set<int64_t>{1, 4}, std::numeric_limits<double>::infinity());
    };
    auto first = make_run(data, "7ba", 42, 7, {inject()}, 4, [&](TrainerOptions& o) {
      with_scaler(4)(o);
      o.save_folder(dir.path()).save_interval("7ba");
    });
    first.trainer->fit();
    const auto path = dir / "ep0-ba7-rank0.pt";
    REQUIRE(std::filesystem::exists(path));

    // In the file: PyTorch's GradScaler.state_dict() under Composer's key.
    auto tree = read_checkpoint(path).toGenericDict();
    auto saved = tree_dict(tree_dict(tree_dict(tree.at("state"), "state").at("scaler"), "scaler").at("GradScaler"), "g");
    std::vector<std::string> keys;
    for (const auto& entry : saved) keys.push_back(entry.key().toStringRef());
    CHECK(keys == std::vector<std::string>{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"});
    CHECK(saved.at("scale").toDouble() == 16384.0);  // halved twice; 2 clean steps since, growth needs 4
    CHECK(saved.at("_growth_tracker").toInt() == 2);
    CHECK(saved.at("growth_interval").toInt() == 4);

    auto full_probe = std::make_shared<StepProbe>();
    auto full = make_run(data, "15ba", 42, 7, {inject(), full_probe}, 4, with_scaler(4));
    full.trainer->fit();

    auto resumed_probe = std::make_shared<StepProbe>();
    // Fresh options on purpose (another growth_interval): loading restores the saved ones, as PyTorch does.
    auto resumed = make_run(data, "15ba", 5, 99, {inject(), resumed_probe}, 4, [&](TrainerOptions& o) {
      with_scaler(2000)(o);
      o.load_path(path);
    });
    const auto& scaler = *resumed.trainer->state().scaler;
    CHECK(scaler.get_scale() == 16384.0);
    CHECK(scaler.growth_tracker() == 2);
    CHECK(scaler.growth_interval() == 4);
    resumed.trainer->fit();
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*full.optimizer), adam_tensors(*resumed.optimizer)));
    const std::vector<double> tail_scales(full_probe->scales.begin() + 7, full_probe->scales.end());
    CHECK(resumed_probe->scales == tail_scales);
    const std::vector<int64_t> tail_trackers(full_probe->trackers.begin() + 7, full_probe->trackers.end());
    CHECK(resumed_probe->trackers == tail_trackers);
    CHECK(full_probe->scales.back() == 65536.0);  // it grew again after the resume point
  }

  TEST_CASE("a run without a scaler saves {} as Composer does, and ignores a saved scaler") {
    TempDir dir;
    auto scaled = make_run(blobs(8), "2ba", [&](TrainerOptions& o) {
      with_scaler()(o);
      o.save_folder(dir.path()).save_interval("2ba");
    });
    scaled.trainer->fit();
    REQUIRE(scaled.trainer->saved_checkpoints().size() == 1);
    const auto path = scaled.trainer->saved_checkpoints().front();
    auto plain = make_run(blobs(8), "4ba", [&](TrainerOptions& o) { o.load_path(path); });
    CHECK_FALSE(plain.trainer->state().scaler);
    plain.trainer->fit();
    auto tree = plain.trainer->state().state_dict().toGenericDict();
    CHECK(tree.at("scaler").isGenericDict());
    CHECK(tree.at("scaler").toGenericDict().size() == 0);
  }
}
