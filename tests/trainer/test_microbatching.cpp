// Gradient accumulation (device_train_microbatch_size): the microbatches' gradients add up to the
// whole batch's, the events fire per microbatch as in Composer, and state is whole again after.
// Accumulation over loader batches (gradient_accumulation_steps, Accelerate's): N loader batches
// are one step, counted, scheduled and resumed as one batch.
#include <doctest/doctest.h>

#include <filesystem>

#include "tempo/optim/schedulers.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Tolerance of "equal up to float rounding". Accumulating changes only the order in which the
// per-sample terms of each gradient element are summed, and multiplies partial sums by the
// microbatch's share (4/10 is not exact in binary): a few float32 roundings (unit roundoff
// 6e-8) per term, about 10 terms, so a relative error near 1e-6 at worst on the larger elements.
// Elements that cancel across samples can be near 0, hence an absolute floor far below the
// gradients' size (1e-2 .. 1). A missing or wrong weighting (1/num_microbatches instead of the
// sample share, or none) is off by tens of percent and fails by orders of magnitude.
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

bool close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::allclose(a[i], b[i], kRtol, kAtol)) return false;
  }
  return true;
}

// Keeps the gradients as the optimizer will see them and the loss of each batch.
class GradRecorder : public Callback {
 public:
  std::vector<std::vector<torch::Tensor>> grads;
  std::vector<double> losses;

 protected:
  void on_after_train_batch(State& state, Logger&) override {
    std::vector<torch::Tensor> g;
    for (const auto& p : state.model->parameters()) g.push_back(p.grad().clone());
    grads.push_back(g);
  }
  void on_batch_end(State& state, Logger&) override { losses.push_back(state.loss.item<double>()); }
};

// Each event with the number of samples in state.batch at that moment.
class BatchSizeRecorder : public Callback {
 public:
  std::vector<std::string> seen;  // "event:samples"
  std::vector<int64_t> outputs_rows;

 protected:
  void on_event(Event event, State& state, Logger&) override {
    seen.push_back(to_string(event) + ":" + std::to_string(state.batch.size()));
  }
  void on_after_train_batch(State& state, Logger&) override { outputs_rows.push_back(state.outputs.size(0)); }
};

struct SgdRun {
  std::shared_ptr<TinyNet> model;
  std::unique_ptr<Trainer> trainer;
};

// No dropout, so a microbatch's forward is the same computation as its rows of the whole batch's.
SgdRun sgd_run(int64_t samples, int64_t batch_size, int64_t microbatch_size, const std::string& duration,
               std::vector<std::shared_ptr<Callback>> callbacks) {
  torch::manual_seed(3);
  SgdRun run;
  run.model = std::make_shared<TinyNet>(8, 0.0);
  auto optimizer = std::make_shared<torch::optim::SGD>(run.model->parameters(), torch::optim::SGDOptions(0.1));
  run.trainer = std::make_unique<Trainer>(TrainerOptions()
                                              .model(run.model)
                                              .train_dataloader(loader(blobs(samples), batch_size, false))
                                              .optimizers({optimizer})
                                              .callbacks(std::move(callbacks))
                                              .max_duration(duration)
                                              .device_train_microbatch_size(microbatch_size)
                                              .seed(11));
  return run;
}

// A run over 23 samples (shuffled, fixed data seed) with SGD and a linear lr schedule over
// `duration`: `batch_size` samples per loader batch, `steps` loader batches per optimizer step.
SgdRun accumulating_run(int64_t batch_size, int64_t steps, int64_t microbatch_size, const std::string& duration,
                        std::vector<std::shared_ptr<Callback>> callbacks = {}) {
  torch::manual_seed(3);
  SgdRun run;
  run.model = std::make_shared<TinyNet>(8, 0.0);
  auto optimizer = std::make_shared<torch::optim::SGD>(run.model->parameters(), torch::optim::SGDOptions(0.1));
  run.trainer = std::make_unique<Trainer>(
      TrainerOptions()
          .model(run.model)
          .train_dataloader(loader(blobs(23), batch_size, true))
          .optimizers({optimizer})
          .schedulers({std::make_shared<LinearScheduler>(LinearSchedulerOptions().alpha_f(0.1))})
          .callbacks(std::move(callbacks))
          .max_duration(duration)
          .device_train_microbatch_size(microbatch_size)
          .gradient_accumulation_steps(steps)
          .seed(11));
  return run;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("gradient_accumulation_steps N over loader batches of B trains as batches of N*B in microbatches of B, bit for bit") {
    // 23 samples: loader batches of 5 are grouped (5,5) (5,5) (3); batches of 10 are 10, 10, 3, split
    // into microbatches of 5: the same samples, weights, summation order and optimizer steps.
    auto accumulated = accumulating_run(5, 2, 0, "3ep");
    auto microbatched = accumulating_run(10, 1, 5, "3ep");
    CHECK(accumulated.trainer->state().dataloader_len() == 3);
    accumulated.trainer->fit();
    microbatched.trainer->fit();
    const auto& t = accumulated.trainer->state().timestamp;
    CHECK(t.batch() == 9);  // steps, not loader batches (15)
    CHECK(t.sample() == 69);
    CHECK(t.epoch() == 3);
    CHECK(bit_equal(weights(*accumulated.model), weights(*microbatched.model)));
    // The schedule counted optimizer steps: both end at the same learning rate.
    CHECK(accumulated.trainer->state().optimizers[0]->param_groups()[0].options().get_lr() ==
          microbatched.trainer->state().optimizers[0]->param_groups()[0].options().get_lr());
  }

  TEST_CASE("an accumulated step fires the batch events once and the microbatch events per loader batch") {
    auto recorder = std::make_shared<BatchSizeRecorder>();
    auto run = accumulating_run(5, 3, 0, "1ba", {recorder});
    run.trainer->fit();
    std::vector<std::string> expected = {"after_dataloader:15", "batch_start:15", "before_train_batch:15"};
    for (int part = 0; part < 3; ++part) {
      for (const char* event : {"before_forward", "after_forward", "before_loss", "after_loss", "before_backward",
                                "after_backward"}) {
        expected.push_back(std::string(event) + ":5");
      }
    }
    expected.push_back("after_train_batch:15");
    expected.push_back("batch_end:15");
    const auto& seen = recorder->seen;
    auto first = std::find(seen.begin(), seen.end(), "after_dataloader:15");
    REQUIRE(seen.end() - first >= static_cast<long>(expected.size()));
    CHECK(std::vector<std::string>(first, first + static_cast<long>(expected.size())) == expected);
    CHECK(recorder->outputs_rows == std::vector<int64_t>{15});
    // With device_train_microbatch_size each loader batch is split further: 5 -> 2+2+1, three times.
    auto split = std::make_shared<BatchSizeRecorder>();
    accumulating_run(5, 3, 2, "1ba", {split}).trainer->fit();
    CHECK(std::count(split->seen.begin(), split->seen.end(), "before_forward:2") == 6);
    CHECK(std::count(split->seen.begin(), split->seen.end(), "before_forward:1") == 3);
  }

  TEST_CASE("a checkpoint between accumulated steps resumes mid-epoch bit-exactly, with dropout") {
    // 50 samples in loader batches of 4: 13 per epoch, grouped by 3 into 5 steps (3,3,3,3,1).
    auto data = blobs(50);
    TempDir dir;
    auto accumulate = [](TrainerOptions& o) { o.gradient_accumulation_steps(3); };
    {
      auto first = make_run(data, "7ba", [&](TrainerOptions& o) {
        accumulate(o);
        o.save_folder(dir.path()).save_interval("1ba");
      });
      CHECK(first.trainer->state().dataloader_len() == 5);
      first.trainer->fit();
    }
    REQUIRE(std::filesystem::exists(dir / "ep1-ba7-rank0.pt"));  // step 2 of epoch 1: loader batch 6 next
    check_resume_is_exact(data, "3ep", dir / "ep1-ba7-rank0.pt", 2, 8, accumulate);
    auto full = make_run(data, "3ep", accumulate);
    full.trainer->fit();
    CHECK(full.trainer->state().timestamp.batch() == 15);
    CHECK(full.trainer->state().timestamp.sample() == 150);

    // Another N mid-epoch would resume at another loader batch: refused, naming both.
    CHECK_THROWS_WITH_AS(make_run(data, "3ep", [&](TrainerOptions& o) {
                           o.gradient_accumulation_steps(2).load_path(dir / "ep1-ba7-rank0.pt");
                         }),
                         doctest::Contains("stopped 2 steps into epoch 1 with gradient_accumulation_steps 3, but this "
                                           "run has 2"),
                         CheckpointError);
    // The last step's checkpoint (before EPOCH_END) counts its steps too: refused as well.
    CHECK_THROWS_AS(make_run(data, "3ep", [&](TrainerOptions& o) {
                      o.gradient_accumulation_steps(2).load_path(dir / "ep0-ba5-rank0.pt");
                    }),
                    CheckpointError);
    // Between epochs any N fits.
    TempDir epochs;
    make_run(data, "1ep", [&](TrainerOptions& o) {
      accumulate(o);
      o.save_folder(epochs.path()).save_interval("1ep");
    }).trainer->fit();
    auto changed = make_run(data, "2ep", [&](TrainerOptions& o) {
      o.gradient_accumulation_steps(2).load_path(epochs / "ep1-ba5-rank0.pt");
    });
    CHECK(changed.trainer->state().timestamp.batch_in_epoch() == 0);
    changed.trainer->fit();
    CHECK(changed.trainer->state().timestamp.batch() == 12);  // 5 steps of 3, then 7 of 2
  }

  TEST_CASE("gradient_accumulation_steps below 1 is refused") {
    CHECK_THROWS_WITH_AS(accumulating_run(5, 0, 0, "1ba"),
                         "gradient_accumulation_steps must be >= 1 (loader batches per optimizer step), got 0",
                         ConfigError);
  }

  TEST_CASE("accumulated microbatch gradients equal the whole batch's within float rounding (uneven split 4+4+2)") {
    auto whole_grads = std::make_shared<GradRecorder>();
    auto whole = sgd_run(20, 10, 0, "2ba", {whole_grads});
    whole.trainer->fit();
    auto micro_grads = std::make_shared<GradRecorder>();
    auto micro = sgd_run(20, 10, 4, "2ba", {micro_grads});
    micro.trainer->fit();

    REQUIRE(whole_grads->grads.size() == 2);
    REQUIRE(micro_grads->grads.size() == 2);
    for (size_t b = 0; b < 2; ++b) {
      CAPTURE(b);
      CHECK(close(whole_grads->grads[b], micro_grads->grads[b]));
      // The batch loss is the sum of the microbatches' weighted losses: the mean over the batch.
      CHECK(micro_grads->losses[b] == doctest::Approx(whole_grads->losses[b]).epsilon(kRtol));
    }
    CHECK(close(weights(*whole.model), weights(*micro.model)));  // close, not bit-equal: summation order differs
  }

  TEST_CASE("several epochs of accumulation stay within rounding of whole-batch training") {
    auto whole = sgd_run(30, 8, 0, "3ep", {});  // 4 batches of 8, 8, 8, 6
    whole.trainer->fit();
    auto micro = sgd_run(30, 8, 3, "3ep", {});  // 3+3+2 and 3+3 microbatches
    micro.trainer->fit();
    CHECK(micro.trainer->state().timestamp.batch() == 12);
    CHECK(micro.trainer->state().timestamp.sample() == 90);
    CHECK(close(weights(*whole.model), weights(*micro.model)));
  }

  TEST_CASE("a microbatch size at or above the batch size trains the whole batch at once, bit for bit") {
    auto whole = sgd_run(20, 10, 0, "4ba", {});
    whole.trainer->fit();
    auto same = sgd_run(20, 10, 10, "4ba", {});
    same.trainer->fit();
    auto larger = sgd_run(20, 10, 64, "4ba", {});
    larger.trainer->fit();
    CHECK(bit_equal(weights(*whole.model), weights(*same.model)));
    CHECK(bit_equal(weights(*whole.model), weights(*larger.model)));
  }

  TEST_CASE("forward to backward events fire per microbatch, the batch events once, with state.batch the microbatch") {
    auto recorder = std::make_shared<BatchSizeRecorder>();
    auto run = sgd_run(10, 10, 4, "1ba", {recorder});
    run.trainer->fit();

    std::vector<std::string> expected = {"before_train_batch:10"};
    for (const char* size : {"4", "4", "2"}) {
      for (const char* event : {"before_forward", "after_forward", "before_loss", "after_loss", "before_backward",
                                "after_backward"}) {
        expected.push_back(std::string(event) + ":" + size);
      }
    }
    expected.push_back("after_train_batch:10");
    expected.push_back("batch_end:10");
    const auto& seen = recorder->seen;
    auto first = std::find(seen.begin(), seen.end(), "before_train_batch:10");
    REQUIRE(seen.end() - first >= static_cast<long>(expected.size()));
    std::vector<std::string> batch_events(first, first + static_cast<long>(expected.size()));
    CHECK(batch_events == expected);
    // After the batch the outputs are the whole batch's, in order, like state.batch.
    CHECK(recorder->outputs_rows == std::vector<int64_t>{10});
  }

  TEST_CASE("the microbatched batch's outputs are the microbatches' outputs in sample order") {
    class OutputsCheck : public Callback {
     public:
      bool checked = false;

     protected:
      void on_batch_end(State& state, Logger&) override {
        torch::NoGradGuard no_grad;
        const auto expected = state.model->forward(state.batch.input);  // weights moved since: compare shapes
        CHECK(state.outputs.sizes() == expected.sizes());
        CHECK_FALSE(state.outputs.requires_grad());
        checked = true;
      }
      void on_after_train_batch(State& state, Logger&) override {
        // Before the step the weights are those the microbatches used.
        torch::NoGradGuard no_grad;
        CHECK(torch::allclose(state.outputs, state.model->forward(state.batch.input), kRtol, kAtol));
      }
    };
    auto check = std::make_shared<OutputsCheck>();
    auto run = sgd_run(10, 10, 3, "1ba", {check});
    run.trainer->fit();
    CHECK(check->checked);
  }

  TEST_CASE("a negative microbatch size is refused") {
    CHECK_THROWS_WITH_AS(sgd_run(10, 10, -1, "1ba", {}),
                         "device_train_microbatch_size must be >= 0 (0: the whole batch), got -1", ConfigError);
  }
}
