// The optimization-step keys (precision, device_train_microbatch_size, clipping_*): what is
// accepted reaches TrainerOptions, what is not is refused where it is written.
#include <doctest/doctest.h>

#include "tempo/callbacks/interval_scheduler.h"
#include "configs/config_test_support.h"

using tempo::testing::builtin_registry;
using tempo::testing::config_error;
using tempo::testing::tiny_config;

namespace {

tempo::TrainerOptions build(const std::string& extra) {
  auto r = builtin_registry();
  return tempo::config::RunConfig::parse(tiny_config(extra), "run.yaml", {}, r).build(r);
}

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("precision takes fp32, amp_bf16 and amp_fp16 (CUDA only), and refuses anything else where it is written") {
  CHECK(build("").precision() == tempo::Precision::FP32);
  CHECK(build("precision: amp_bf16\n").precision() == tempo::Precision::AMP_BF16);
  CHECK(config_error(tiny_config("precision: fp16\n")) ==
        "run.yaml:10:12: precision: expected one of fp32, amp_bf16, amp_fp16, got \"fp16\"");
  CHECK(config_error(tiny_config("precision: amp_fp16\n")) ==
        "run.yaml:10:12: precision: amp_fp16 needs a CUDA device: LibTorch 1.13's CPU autocast supports only "
        "bfloat16; use amp_bf16 on the CPU (device: cpu)");
}

TEST_CASE("device_train_microbatch_size: a sample count, unset meaning the whole batch; \"auto\" is refused") {
  CHECK(build("").device_train_microbatch_size() == 0);
  CHECK(build("device_train_microbatch_size: 5\n").device_train_microbatch_size() == 5);
  CHECK(config_error(tiny_config("device_train_microbatch_size: auto\n")).rfind(
            "run.yaml:10:31: device_train_microbatch_size: \"auto\" is not supported", 0) == 0);
  CHECK(config_error(tiny_config("device_train_microbatch_size: -2\n")) ==
        "run.yaml:10:31: device_train_microbatch_size: expected a number of samples >= 0 (0: the whole batch), got -2");
}

TEST_CASE("clipping_type and clipping_threshold reach the options; a type needs a positive threshold") {
  const auto options = build("clipping_type: norm\nclipping_threshold: 0.5\n");
  CHECK(options.clipping_type() == tempo::ClippingType::NORM);
  CHECK(options.clipping_threshold() == 0.5);
  CHECK(build("clipping_type: adaptive\nclipping_threshold: 0.01\n").clipping_type() == tempo::ClippingType::ADAPTIVE);
  CHECK(build("").clipping_type() == tempo::ClippingType::NONE);
  CHECK(config_error(tiny_config("clipping_type: nrm\n")) ==
        "run.yaml:10:16: clipping_type: expected one of none, norm, value, adaptive, got \"nrm\"");
  CHECK(config_error(tiny_config("clipping_type: value\n")) ==
        "run.yaml:10:16: clipping_type value needs a clipping_threshold");
  CHECK(config_error(tiny_config("clipping_type: norm\nclipping_threshold: 0\n")) ==
        "run.yaml:11:21: clipping_threshold: expected a number > 0, got 0");
}

TEST_CASE("durations and intervals that would never end or never fire are refused where they are written") {
  const auto npos = std::string::npos;
  // Zero: saved nothing (not even the final checkpoint), evaluated never, or failed after config.yaml.
  CHECK(config_error(tiny_config("save_folder: ck\nsave_interval: 0ba\n")) ==
        "run.yaml:11:16: save_interval: expected a positive time, e.g. 1ep or 500ba, got 0ba");
  CHECK(config_error(tiny_config("eval_interval: 0\n")) ==
        "run.yaml:10:16: eval_interval: expected a positive time, e.g. 1ep or 500ba, got 0ep");
  CHECK(config_error(tiny_config(), {"max_duration=0ba"}).find("max_duration: max_duration must be positive (got 0ba)") !=
        npos);
  // Tokens with data that counts none: the run never ended (145,590 batches in 60 s).
  CHECK(config_error(tiny_config(), {"max_duration=10tok"}).find("max_duration cannot be in tokens (got 10tok): the "
                                                                   "training data set counts none") != npos);
  // A run_name that a checkpoint cannot hold failed at the first save, after training.
  CHECK(config_error(tiny_config(), {std::string("run_name=ab") + '\xff'}).find("run_name: expected UTF-8 text") !=
        npos);
  // The same rules hold for C++ users, unlocated.
  CHECK_THROWS_WITH_AS(tempo::check_trainer_max_duration(tempo::Time::parse("100tok"), false),
                       doctest::Contains("max_duration cannot be in tokens"), tempo::TimeError);
  CHECK_NOTHROW(tempo::check_trainer_max_duration(tempo::Time::parse("100tok"), true));
  CHECK_THROWS_WITH_AS(tempo::IntervalScheduler(tempo::Time::parse("0ba")), doctest::Contains("interval 0ba is zero"),
                       tempo::TimeError);
}
}
