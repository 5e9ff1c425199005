// precision: amp_bf16 runs the forward pass and the loss under LibTorch's CPU autocast (and
// nothing else), trains, and resumes bit for bit; amp_fp16 is refused on the CPU.
#include <doctest/doctest.h>

#include <ATen/autocast_mode.h>

#include <numeric>

#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

auto bf16 = [](TrainerOptions& o) { o.precision(Precision::AMP_BF16); };

// Where autocast is on, and in which dtypes the step computes.
class AutocastProbe : public Callback {
 public:
  std::vector<std::string> enabled_at;
  c10::ScalarType outputs_dtype = c10::ScalarType::Undefined;
  c10::ScalarType grad_dtype = c10::ScalarType::Undefined;
  c10::ScalarType param_dtype = c10::ScalarType::Undefined;

 protected:
  void on_event(Event event, State&, Logger&) override {
    if (at::autocast::is_cpu_enabled()) enabled_at.push_back(to_string(event));
  }
  void on_after_forward(State& state, Logger&) override { outputs_dtype = state.outputs.scalar_type(); }
  void on_after_train_batch(State& state, Logger&) override {
    param_dtype = state.model->parameters()[0].scalar_type();
    grad_dtype = state.model->parameters()[0].grad().scalar_type();
  }
};

std::string name(c10::ScalarType t) { return c10::toString(t); }

double mean_loss(const std::map<int64_t, double>& losses, int64_t first_batch, int64_t last_batch) {
  double sum = 0;
  for (int64_t b = first_batch; b <= last_batch; ++b) sum += losses.at(b);
  return sum / static_cast<double>(last_batch - first_batch + 1);
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("amp_bf16 computes forward in bfloat16 under CPU autocast, only there, and keeps float32 weights") {
    auto probe = std::make_shared<AutocastProbe>();
    auto run = make_run(blobs(16), "2ba", 42, 7, {probe}, 4, bf16);
    run.trainer->fit();
    CHECK(name(probe->outputs_dtype) == "BFloat16");
    CHECK(name(probe->param_dtype) == "Float");
    CHECK(name(probe->grad_dtype) == "Float");
    CHECK(probe->enabled_at.empty());  // no callback runs under autocast
    CHECK_FALSE(at::autocast::is_cpu_enabled());

    auto fp32_probe = std::make_shared<AutocastProbe>();
    auto fp32 = make_run(blobs(16), "2ba", 42, 7, {fp32_probe});
    fp32.trainer->fit();
    CHECK(name(fp32_probe->outputs_dtype) == "Float");
    CHECK_FALSE(bit_equal(weights(*run.model), weights(*fp32.model)));  // bf16 really changed the arithmetic
  }

  TEST_CASE("an amp_bf16 run learns: the loss falls over a few epochs of the blobs") {
    auto losses = std::make_shared<LossRecorder>();
    auto run = make_run(blobs(64), "5ep", 42, 7, {losses}, 8, bf16);  // 8 batches per epoch
    run.trainer->fit();
    REQUIRE(losses->losses.size() == 40);
    const double first_epoch = mean_loss(losses->losses, 1, 8);
    const double last_epoch = mean_loss(losses->losses, 33, 40);
    CAPTURE(first_epoch);
    CAPTURE(last_epoch);
    CHECK(last_epoch < 0.5 * first_epoch);
  }

  TEST_CASE("an amp_bf16 run resumed from a mid-epoch checkpoint ends bit-equal to the uninterrupted one") {
    auto data = blobs(50);  // 13 batches per epoch
    TempDir dir;
    auto first = make_run(data, "20ba", 42, 7, {}, 4, [&](TrainerOptions& o) {
      bf16(o);
      o.save_folder(dir.path()).save_interval("10ba");
    });
    first.trainer->fit();
    REQUIRE(std::filesystem::exists(dir / "ep1-ba20-rank0.pt"));

    check_resume_is_exact(data, "3ep", dir / "ep1-ba20-rank0.pt", 7, 19, bf16);
  }

  TEST_CASE("amp_fp16 on the CPU is refused: LibTorch 1.13's CPU autocast has no float16") {
    CHECK_THROWS_WITH_AS(make_run(blobs(8), "1ba", [](TrainerOptions& o) { o.precision(Precision::AMP_FP16); }),
                         "precision amp_fp16 needs a CUDA device (device is cpu): LibTorch 1.13's CPU autocast "
                         "supports only bfloat16; use amp_bf16 on the CPU",
                         ConfigError);
  }

  TEST_CASE("precision names parse and print as Composer's") {
    for (auto p : {Precision::FP32, Precision::AMP_BF16, Precision::AMP_FP16}) CHECK(parse_precision(to_string(p)) == p);
    CHECK(to_string(Precision::AMP_BF16) == "amp_bf16");
    CHECK_THROWS_WITH_AS(parse_precision("bf16"), "precision: expected fp32, amp_bf16 or amp_fp16, got \"bf16\"",
                         ConfigError);
  }
}
