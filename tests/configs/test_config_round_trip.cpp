// A config plus overrides resolves to one canonical YAML; loading that YAML again gives the same
// resolved config, and a run built from it trains to the same weights.
#include <doctest/doctest.h>

#include "configs/config_test_support.h"
#include "support/fixtures.h"

namespace {

std::vector<torch::Tensor> train(const tempo::config::RunConfig& config, const tempo::config::Registry& r) {
  auto options = config.build(r);
  auto model = options.model();
  tempo::Trainer trainer(options);
  trainer.fit();
  return tempo::testing::weights(*model);
}

// A user's model with no schema: it reads what it needs, with its own defaults.
class Scaled : public tempo::Model {
 public:
  Scaled(int64_t features, int64_t classes) : fc(register_module("fc", torch::nn::Linear(features, classes))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return fc(x); }
  torch::nn::Linear fc;
};

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("file plus overrides resolves, and the resolved YAML resolves to itself and trains the same") {
  auto r = tempo::testing::builtin_registry();
  const auto first = tempo::config::RunConfig::parse(
      tempo::testing::tiny_config(), "run.yaml",
      {"max_duration=3ba", "optimizers.adam.lr=3e-3", "model.mlp.hidden=[8, 8]", "eval_loader.synthetic.num_samples=16",
       "eval_loader.synthetic.shape=[8]", "eval_loader.synthetic.num_classes=2"},
      r);
  const auto yaml = first.yaml();
  CHECK(yaml.find("max_duration: 3ba") != std::string::npos);
  CHECK(yaml.find("lr: 3e-3") != std::string::npos);
  CHECK(yaml.find("betas: [0.9, 0.999]") != std::string::npos);  // defaults filled in
  CHECK(yaml.find("save_interval: 1ep") != std::string::npos);
  CHECK(yaml.find("schedulers: {}") != std::string::npos);

  const auto second = tempo::config::RunConfig::parse(yaml, "resolved.yaml", {}, r);
  CHECK(second.yaml() == yaml);

  CHECK(tempo::testing::bit_equal(train(first, r), train(second, r)));
}

TEST_CASE("an unset seed is drawn once and written into the resolved config") {
  auto r = tempo::testing::builtin_registry();
  auto text = tempo::testing::tiny_config();
  text.erase(text.find("seed: 5\n"), 8);
  const auto resolved = tempo::config::RunConfig::parse(text, "run.yaml", {}, r);
  CHECK_FALSE(resolved.resolved().child("seed").is_null());
  const auto again = tempo::config::RunConfig::parse(resolved.yaml(), "resolved.yaml", {}, r);
  CHECK(again.yaml() == resolved.yaml());
}

TEST_CASE("callbacks as a list allow several of one kind; overrides pick an element by index or name") {
  auto r = tempo::testing::builtin_registry();
  const auto text = tempo::testing::tiny_config(
      "callbacks:\n  - checkpoint_saver: {folder: a}\n  - checkpoint_saver: {folder: b}\n");
  const auto config = tempo::config::RunConfig::parse(text, "run.yaml", {"callbacks.1.checkpoint_saver.save_interval=2ba"}, r);
  const auto callbacks = config.resolved().child("callbacks");
  REQUIRE(callbacks.is_sequence());
  CHECK(callbacks.size() == 2);
  CHECK(callbacks.at(1).child("checkpoint_saver").child("save_interval").as<std::string>() == "2ba");
  CHECK(config.build(r).callbacks().size() == 2);

  const auto single = tempo::config::RunConfig::parse(
      tempo::testing::tiny_config("callbacks:\n  checkpoint_saver: {folder: a}\n"), "run.yaml",
      {"callbacks.checkpoint_saver.save_interval=100ba"}, r);
  CHECK(single.resolved().child("callbacks").child("checkpoint_saver").child("save_interval").as<std::string>() == "100ba");
}

TEST_CASE("a user-registered model is used from YAML and its unread keys are rejected") {
  auto r = tempo::testing::builtin_registry();
  r.add_model("scaled", [](const tempo::config::Args& a) {
    return std::make_shared<Scaled>(a.get<int64_t>("features", 8), a.get<int64_t>("classes"));
  });
  auto text = tempo::testing::tiny_config();
  text.replace(text.find("mlp: {in_features: 8, hidden: [16], num_classes: 2}"), 51, "scaled: {classes: 2}");
  const auto config = tempo::config::RunConfig::parse(text, "run.yaml", {}, r);
  auto options = config.build(r);
  CHECK(dynamic_cast<Scaled*>(options.model().get()) != nullptr);
  tempo::Trainer trainer(options);
  trainer.fit();
  CHECK(trainer.state().timestamp.batch() == 4);

  CHECK(tempo::testing::config_error(text, {"model.scaled.clases=3"}, r) ==
        "override 'model.scaled.clases=3': unknown key 'clases' in model 'scaled'");
  CHECK(tempo::testing::config_error(text, {"model.scaled={}"}, r)
            .find("missing required key 'classes' in model 'scaled'") != std::string::npos);
}

TEST_CASE("the cnn model takes 28x28 images and names its parameters as Python does") {
  auto r = tempo::testing::builtin_registry();
  auto text = tempo::testing::tiny_config();
  text.replace(text.find("mlp: {in_features: 8, hidden: [16], num_classes: 2}"), 51, "cnn: {hidden: 8}");
  text.replace(text.find("shape: [8], num_classes: 2"), 26, "shape: [1, 28, 28]");
  const auto options = tempo::config::RunConfig::parse(text, "run.yaml", {"max_duration=1ba"}, r).build(r);
  std::vector<std::string> names;
  for (const auto& item : options.model()->named_parameters()) names.push_back(item.key());
  CHECK(names == std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                          "fc1.bias", "fc2.weight", "fc2.bias"});
  tempo::Trainer trainer(options);
  trainer.fit();
  CHECK(trainer.state().timestamp.batch() == 1);
}
}
