// Composer both ways, against MosaicML Composer's own Trainer (PyPI mosaicml, in .venv; see
// tests/python/composer_interop.py): both train tempo's mlp with Adam on the same 64 samples in
// order, 16 a batch.
#include <doctest/doctest.h>

#include "tempo/models/mlp.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/tree.h"
#include "support/fixtures.h"
#include "support/python.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// The names of tempo's mlp in the order of its parameters, as Composer keys its Adam state.
const std::vector<std::string> kNames = {"layers.0.weight", "layers.0.bias", "head.weight", "head.bias"};

struct MlpRun {
  std::shared_ptr<Mlp> model;
  std::shared_ptr<torch::optim::Adam> optimizer;
  std::unique_ptr<Trainer> trainer;
};

MlpRun mlp_run(const TreeDict& data, const std::string& max_duration,
               const std::function<void(TrainerOptions&)>& configure) {
  torch::manual_seed(3);
  MlpRun run;
  run.model = std::make_shared<Mlp>(MlpOptions().in_features(32).hidden({64}).num_classes(4));
  run.optimizer = std::make_shared<torch::optim::Adam>(run.model->parameters(), torch::optim::AdamOptions(1e-3));
  auto dataset = std::make_shared<TensorDataset>(tree_tensor(data, "x", ""), tree_tensor(data, "y", ""));
  auto options = TrainerOptions()
                     .model(run.model)
                     .train_dataloader(loader(dataset, 16, /*shuffle=*/false))
                     .optimizers({run.optimizer})
                     .max_duration(max_duration)
                     .seed(17);
  configure(options);
  run.trainer = std::make_unique<Trainer>(options);
  return run;
}

at::Tensor adam_buffer(torch::optim::Optimizer& optimizer, const at::Tensor& param, bool squared) {
  const auto& state = static_cast<const torch::optim::AdamParamState&>(*optimizer.state().at(optimizer_state_key(param)));
  return squared ? state.exp_avg_sq() : state.exp_avg();
}

int64_t adam_step(torch::optim::Optimizer& optimizer, const at::Tensor& param) {
  return static_cast<const torch::optim::AdamParamState&>(*optimizer.state().at(optimizer_state_key(param))).step();
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("Composer both ways: its checkpoint resumes in tempo, tempo's resumes in Composer, as each would go on") {
    // Importing Composer beside the CPU torch takes composer_interop.py's torchvision workaround.
    if (skip_without_python_module("composer", std::string(TEMPO_SOURCE_DIR) + "/tests/python/composer_interop.py import"))
      return;
    TempDir dir;
    auto [rc, output] = run_python_script("composer_interop.py", "save " + (dir / "composer"), dir / "save.log");
    INFO(output);
    REQUIRE(rc == 0);
    const auto expected = tree_dict(read_checkpoint(dir / "composer/expected.pt"), "expected.pt");

    // Composer -> tempo: its file (timedelta wall clocks, NumPy and Python RNG states, Adam state
    // keyed by parameter name, TorchVersion) loads with the weights and Adam state Composer's
    // trainer had at batch 3, and one more batch lands where Composer's fourth did.
    auto run = mlp_run(expected, "4ba", [&](TrainerOptions& o) { o.load_path(dir / "composer/ep0-ba3-rank0.pt"); });
    const auto& timestamp = run.trainer->state().timestamp;
    CHECK(timestamp.batch() == 3);
    CHECK(timestamp.sample() == 48);
    CHECK(timestamp.batch_in_epoch() == 3);
    CHECK(timestamp.epoch() == 0);
    CHECK(timestamp.total_wct() > 0.0);  // Composer's timedelta, read as seconds
    const auto model_ba3 = tree_dict(tree_at(expected, "model", ""), "model");
    const auto exp_avg = tree_dict(tree_at(expected, "exp_avg", ""), "exp_avg");
    const auto exp_avg_sq = tree_dict(tree_at(expected, "exp_avg_sq", ""), "exp_avg_sq");
    const auto params = run.model->named_parameters();
    REQUIRE(params.size() == kNames.size());
    for (size_t i = 0; i < kNames.size(); ++i) {
      INFO(kNames[i]);
      const auto& p = params[kNames[i]];
      CHECK(torch::equal(p, tree_tensor(model_ba3, kNames[i], "model")));
      CHECK(torch::equal(adam_buffer(*run.optimizer, p, false), tree_tensor(exp_avg, kNames[i], "exp_avg")));
      CHECK(torch::equal(adam_buffer(*run.optimizer, p, true), tree_tensor(exp_avg_sq, kNames[i], "exp_avg_sq")));
      CHECK(adam_step(*run.optimizer, p) == 3);
    }
    run.trainer->fit();
    CHECK(run.trainer->state().timestamp.batch() == 4);
    const auto model_ba4 = tree_dict(tree_at(expected, "model_ba4", ""), "model_ba4");
    for (const auto& name : kNames) {
      INFO(name);
      const auto& p = params[name];
      const auto before = tree_tensor(model_ba3, name, "model");
      const auto composer = tree_tensor(model_ba4, name, "model_ba4");
      // Within 1e-6 (LibTorch's and Python's Adam round differently in torch 2.x), while one
      // step with lost or wrong Adam state would land about 1e-4 away.
      CHECK((p - composer).abs().max().item<double>() <= 1e-6);
      CHECK((composer - before).abs().max().item<double>() > 1e-4);
    }

    // tempo -> Composer: tempo trains 5 batches, saving each; Composer loads the one of batch 3
    // through load_path, checks it took everything, trains 2 batches and compares with batch 5.
    auto tempo = mlp_run(expected, "5ba", [&](TrainerOptions& o) {
      o.save_folder(dir / "tempo").save_interval("1ba").run_name("tempo-to-composer");
    });
    tempo.trainer->fit();
    std::tie(rc, output) = run_python_script(
        "composer_interop.py",
        "load " + (dir / "tempo/ep0-ba3-rank0.pt") + " " + (dir / "composer/expected.pt") + " " +
            (dir / "tempo/ep1-ba5-rank0.pt"),
        dir / "load.log");
    INFO(output);
    CHECK(rc == 0);
  }
}
