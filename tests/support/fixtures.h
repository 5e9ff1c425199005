// Small synthetic data and models shared by the LibTorch test suites.
#pragma once

#include <torch/torch.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/dataset.h"
#include "tempo/state/model.h"
#include "tempo/state/state.h"
#include "support/temp_dir.h"
#include "tempo/state/torch_compat.h"
#include "tempo/trainer/trainer.h"

// Lets doctest print vectors when a comparison fails.
namespace doctest {
template <typename T>
struct StringMaker<std::vector<T>> {
  static String convert(const std::vector<T>& v) {
    std::ostringstream out;
    out << "{";
    for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
    out << "}";
    return out.str().c_str();
  }
};
}  // namespace doctest

namespace tempo::testing {

// Two Gaussian blobs in `features` dimensions, labels 0/1, from a fixed generator.
inline std::shared_ptr<TensorDataset> blobs(int64_t n, int64_t features = 8, uint64_t seed = 123) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto labels = torch::randint(0, 2, {n}, gen, torch::kLong);
  auto centres = (labels.to(torch::kFloat).unsqueeze(1) * 2 - 1) * 1.5;
  auto x = torch::randn({n, features}, gen) + centres;
  return std::make_shared<TensorDataset>(x, labels);
}

inline std::shared_ptr<DataLoader> loader(std::shared_ptr<Dataset> data, int64_t batch_size, bool shuffle = true) {
  return std::make_shared<DataLoader>(std::move(data), DataLoaderOptions().batch_size(batch_size).shuffle(shuffle));
}

// Dropout makes the run draw from the CPU generator, so resume tests also test RNG restore.
class TinyNet : public Model {
 public:
  explicit TinyNet(int64_t features = 8, double dropout = 0.1)
      : fc1(register_module("fc1", torch::nn::Linear(features, 16))),
        drop(register_module("drop", torch::nn::Dropout(dropout))),
        fc2(register_module("fc2", torch::nn::Linear(16, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return fc2(drop(torch::relu(fc1(x)))); }

  torch::nn::Linear fc1;
  torch::nn::Dropout drop;
  torch::nn::Linear fc2;
};

// Records every event it sees, by name.
class EventRecorder : public Callback {
 public:
  std::vector<std::string> events;

 protected:
  void on_event(Event event, State&, Logger&) override { events.push_back(to_string(event)); }
};

// Records the loss of every batch, keyed by batch number.
class LossRecorder : public Callback {
 public:
  std::map<int64_t, double> losses;

 protected:
  void on_batch_end(State& state, Logger&) override { losses[state.timestamp.batch()] = state.loss.item<double>(); }
};

struct Run {
  std::shared_ptr<TinyNet> model;
  std::shared_ptr<torch::optim::Adam> optimizer;
  std::unique_ptr<Trainer> trainer;
};

// A complete trainer over `train` with Adam; the model is initialised from `init_seed`;
// `configure` may change any option before the trainer is built.
inline Run make_run(std::shared_ptr<Dataset> train, const std::string& max_duration, uint64_t seed = 42,
                    uint64_t init_seed = 7, std::vector<std::shared_ptr<Callback>> callbacks = {},
                    int64_t batch_size = 4, const std::function<void(TrainerOptions&)>& configure = {}) {
  torch::manual_seed(init_seed);
  Run run;
  run.model = std::make_shared<TinyNet>();
  run.optimizer = std::make_shared<torch::optim::Adam>(run.model->parameters(), torch::optim::AdamOptions(1e-2));
  auto options = TrainerOptions()
                     .model(run.model)
                     .train_dataloader(loader(std::move(train), batch_size))
                     .optimizers({run.optimizer})
                     .callbacks(std::move(callbacks))
                     .max_duration(max_duration)
                     .seed(seed)
                     .run_name("test-run");
  if (configure) configure(options);
  run.trainer = std::make_unique<Trainer>(options);
  return run;
}

// The same with only options changed.
inline Run make_run(std::shared_ptr<Dataset> train, const std::string& max_duration,
                    const std::function<void(TrainerOptions&)>& configure) {
  return make_run(std::move(train), max_duration, 42, 7, {}, 4, configure);
}

// The file names (not paths) directly in `folder`, sorted; without the savers' lock files
// (.tempo-rank{rank}.lock, see CheckpointSaver::claim), which every save folder holds.
inline std::vector<std::string> files_in(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const auto name = entry.path().filename().string();
    const bool lock = name.rfind(".tempo-rank", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".lock";
    if (!lock) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Every parameter and buffer, flattened, for bit-exact comparisons.
inline std::vector<torch::Tensor> weights(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p.detach().clone());
  return out;
}

// Adam's per-parameter state (moments and step count) of the first group, copied.
inline std::vector<torch::Tensor> adam_tensors(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> out;
  for (const auto& p : optimizer.param_groups()[0].params()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(
        *optimizer.state().at(tempo::optimizer_state_key(p)));
    out.push_back(s.exp_avg().clone());
    out.push_back(s.exp_avg_sq().clone());
    out.push_back(torch::tensor(s.step()));
  }
  return out;
}

inline bool bit_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].sizes().equals(b[i].sizes()) || !torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// The bit-exact resume check: an uninterrupted run to `max_duration`, and a run built with other
// seeds (so only the checkpoint can make them agree) that loads `checkpoint` (at batch_in_epoch
// `resumed_at`) and trains to the same end; `configure` applies to both. Checks the weights, Adam's
// state and every batch loss after the checkpoint (`batches_after` of them) for equality.
inline void check_resume_is_exact(std::shared_ptr<Dataset> data, const std::string& max_duration,
                                  const std::string& checkpoint, int64_t resumed_at, size_t batches_after,
                                  const std::function<void(TrainerOptions&)>& configure = {}) {
  auto full_losses = std::make_shared<LossRecorder>();
  auto full = make_run(data, max_duration, 42, 7, {full_losses}, 4, configure);
  full.trainer->fit();
  auto resumed_losses = std::make_shared<LossRecorder>();
  auto resumed = make_run(data, max_duration, 5, 99, {resumed_losses}, 4, [&](TrainerOptions& o) {
    if (configure) configure(o);
    o.load_path(checkpoint);
  });
  CHECK(resumed.trainer->state().timestamp.batch_in_epoch() == resumed_at);
  resumed.trainer->fit();
  CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
  CHECK(bit_equal(adam_tensors(*full.optimizer), adam_tensors(*resumed.optimizer)));
  REQUIRE(resumed_losses->losses.size() == batches_after);
  for (const auto& [batch, loss] : resumed_losses->losses) CHECK(full_losses->losses.at(batch) == loss);
}

}  // namespace tempo::testing
