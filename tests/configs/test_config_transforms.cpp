// The loader keys num_workers, prefetch_factor, pin_memory and transforms: what is accepted
// reaches DataLoaderOptions, what is not is refused where it is written, naming the key path.
#include <doctest/doctest.h>

#include "configs/config_test_support.h"
#include "tempo/data/transforms.h"

using tempo::testing::builtin_registry;
using tempo::testing::config_error;

namespace {

std::string image_config(const std::string& loader_extra) {
  return "run_name: tiny\n"
         "seed: 5\n"
         "max_duration: 4ba\n"
         "model:\n"
         "  mlp: {in_features: 36, hidden: [16], num_classes: 2}\n"
         "train_loader:\n"
         "  synthetic: {num_samples: 64, shape: [1, 6, 6], num_classes: 2, batch_size: 16, shuffle: true" +
         loader_extra +
         "}\n"
         "optimizers:\n"
         "  adam: {lr: 1.0e-2}\n";
}

tempo::TrainerOptions build(const std::string& loader_extra) {
  auto r = builtin_registry();
  return tempo::config::RunConfig::parse(image_config(loader_extra), "run.yaml", {}, r).build(r);
}

bool contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return true;
  MESSAGE(text);
  return false;
}

}  // namespace

TEST_SUITE("configs") {
TEST_CASE("a loader's num_workers, prefetch_factor, pin_memory and transforms reach its options and train") {
  auto options = build(", num_workers: 2, prefetch_factor: 3, pin_memory: false,\n"
                       "              transforms: [{random_crop: {size: 6, padding: 2}}, {horizontal_flip: {p: 0.25}},\n"
                       "                           {normalize: {mean: [0.5], std: [2.0]}}]");
  const auto& loader = *options.train_dataloader();
  CHECK(loader.options().num_workers() == 2);
  CHECK(loader.options().prefetch_factor() == 3);
  CHECK(loader.prefetch_depth() == 6);
  const auto& transforms = loader.options().transforms();
  REQUIRE(transforms.size() == 3);
  const auto* crop = dynamic_cast<const tempo::RandomCrop*>(transforms[0].get());
  REQUIRE(crop);
  CHECK(crop->options().size() == 6);
  CHECK(crop->options().padding() == 2);
  const auto* flip = dynamic_cast<const tempo::HorizontalFlip*>(transforms[1].get());
  REQUIRE(flip);
  CHECK(flip->options().p() == 0.25);
  const auto* normalize = dynamic_cast<const tempo::Normalize*>(transforms[2].get());
  REQUIRE(normalize);
  CHECK(normalize->options().std() == std::vector<double>{2.0});
  tempo::Trainer trainer(options);
  CHECK_NOTHROW(trainer.fit());
  CHECK(trainer.state().timestamp.batch() == 4);

  // The defaults: no workers, no transforms.
  const auto plain = build("");
  CHECK(plain.train_dataloader()->options().num_workers() == 0);
  CHECK_FALSE(plain.train_dataloader()->options().prefetch_factor().has_value());
  CHECK(plain.train_dataloader()->options().transforms().empty());
}

TEST_CASE("bad transforms are refused where they are written, naming the key path") {
  auto error = [](const std::string& transforms) { return config_error(image_config(", transforms: " + transforms)); };
  CHECK(contains(error("[{random_crp: {size: 6}}]"),
                 "train_loader.synthetic.transforms.0.random_crp: unknown transform 'random_crp' (did you mean "
                 "'random_crop'? known: horizontal_flip, normalize, random_crop)"));
  CHECK(contains(error("[{random_crop: {size: 6}}, {horizontal_flip: {p: 1.5}}]"),
                 "train_loader.synthetic.transforms.1.horizontal_flip.p: expected a probability in [0, 1], got 1.5"));
  CHECK(contains(error("[{normalize: {mean: [0.5], std: [0.0]}}]"),
                 "train_loader.synthetic.transforms.0.normalize.std: expected every std > 0, got 0"));
  CHECK(contains(error("[{normalize: {mean: [0.5, 0.1], std: [1.0]}}]"),
                 "normalize: std must have as many values as mean ([0.5, 0.1]), got [1]"));
  CHECK(contains(error("[{random_crop: {padding: 2}}]"), "missing required key 'size' of transform 'random_crop'"));
  CHECK(contains(error("[{random_crop: {size: 6, pading: 2}}]"),
                 "unknown key 'pading' of transform 'random_crop' (did you mean 'padding'?)"));
  CHECK(contains(error("{random_crop: {size: 6}}"), "train_loader.synthetic.transforms: expected a list of transforms"));
  CHECK(contains(error("[random_crop]"), "expected a map naming one transform and its arguments"));
  CHECK(contains(error("[{random_crop: {size: 0}}]"), "train_loader.synthetic.transforms.0.random_crop.size: expected a value >= 1, got 0"));
}

TEST_CASE("loader worker keys are checked as PyTorch checks them") {
  CHECK(contains(config_error(image_config(", num_workers: -1")), "num_workers"));
  CHECK(contains(config_error(image_config(", prefetch_factor: 2")), "prefetch_factor is only used with num_workers > 0"));
  CHECK(contains(config_error(image_config(", num_workers: 1, prefetch_factor: 0")), "prefetch_factor: expected a number >= 1, got 0"));
}
}
