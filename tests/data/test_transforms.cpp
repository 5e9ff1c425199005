#include "tempo/data/transforms.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tempo/data/data_loader.h"
#include "tempo/errors/error.h"

namespace {

using tempo::SampleRng;

torch::Tensor images(int64_t n, int64_t c, int64_t h, int64_t w) {
  return torch::arange(n * c * h * w, torch::kFloat32).reshape({n, c, h, w});
}

std::vector<uint64_t> seeds_for(int64_t n, uint64_t base = 11) {
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < n; ++i) seeds.push_back(tempo::sample_seed(base, 0, i, 0));
  return seeds;
}

tempo::TransformList augment() {
  return {std::make_shared<tempo::RandomCrop>(tempo::RandomCropOptions().size(6).padding(2)),
          std::make_shared<tempo::HorizontalFlip>(tempo::HorizontalFlipOptions().p(0.5)),
          std::make_shared<tempo::Normalize>(tempo::NormalizeOptions().mean({0.5}).std({2.0}))};
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("sample_seed depends on every field; SampleRng stays in range") {
    const uint64_t base = tempo::sample_seed(1, 2, 3, 4);
    CHECK(tempo::sample_seed(1, 2, 3, 4) == base);
    CHECK(tempo::sample_seed(0, 2, 3, 4) != base);
    CHECK(tempo::sample_seed(1, 3, 3, 4) != base);
    CHECK(tempo::sample_seed(1, 2, 4, 4) != base);
    CHECK(tempo::sample_seed(1, 2, 3, 5) != base);
    SampleRng rng(base);
    std::set<int64_t> seen;
    for (int i = 0; i < 2000; ++i) {
      const auto v = rng.below(5);
      REQUIRE(v >= 0);
      REQUIRE(v < 5);
      seen.insert(v);
      const double u = rng.uniform();
      REQUIRE(u >= 0.0);
      REQUIRE(u < 1.0);
    }
    CHECK(seen.size() == 5);
  }

  TEST_CASE("random_crop is torchvision's pad-then-crop at the offsets drawn from each sample's seed") {
    const auto x = images(6, 2, 5, 7);
    const auto seeds = seeds_for(6);
    const tempo::RandomCrop crop(tempo::RandomCropOptions().size(5).padding(2));
    const auto out = crop.apply(x, seeds);
    REQUIRE(out.sizes() == torch::IntArrayRef({6, 2, 5, 5}));
    const auto padded = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0);
    std::set<std::pair<int64_t, int64_t>> offsets;
    for (int64_t i = 0; i < 6; ++i) {
      SampleRng rng(seeds[i]);
      const int64_t top = rng.below(5 + 4 - 5 + 1), left = rng.below(7 + 4 - 5 + 1);
      offsets.insert({top, left});
      const auto expected = padded[i].slice(1, top, top + 5).slice(2, left, left + 5);
      CHECK(torch::equal(out[i], expected));
    }
    CHECK(offsets.size() > 1);  // the samples are cropped differently
    CHECK(torch::equal(x, images(6, 2, 5, 7)));  // the input is left alone
    // No padding and the full size: the identity.
    CHECK(torch::equal(tempo::RandomCrop(tempo::RandomCropOptions().size(5)).apply(x.slice(3, 0, 5), seeds),
                       x.slice(3, 0, 5)));
  }

  TEST_CASE("horizontal_flip mirrors the width axis of the samples whose draw is below p") {
    const auto x = images(16, 3, 4, 5).to(torch::kInt16);  // any dtype: elements are moved, not computed
    const auto seeds = seeds_for(16);
    CHECK(torch::equal(tempo::HorizontalFlip(tempo::HorizontalFlipOptions().p(1.0)).apply(x, seeds), x.flip({3})));
    CHECK(torch::equal(tempo::HorizontalFlip(tempo::HorizontalFlipOptions().p(0.0)).apply(x, seeds), x));
    const auto out = tempo::HorizontalFlip(tempo::HorizontalFlipOptions().p(0.5)).apply(x, seeds);
    int flipped = 0;
    for (int64_t i = 0; i < 16; ++i) {
      const bool flip = SampleRng(seeds[i]).uniform() < 0.5;
      flipped += flip;
      CHECK(torch::equal(out[i], flip ? x[i].flip({2}) : x[i]));
    }
    CHECK(flipped > 0);
    CHECK(flipped < 16);
  }

  TEST_CASE("normalize computes (x - mean[c]) / std[c] per channel, or with one value for all") {
    const auto x = torch::randn({4, 3, 5, 5});
    const auto seeds = seeds_for(4);
    const auto out = tempo::Normalize(tempo::NormalizeOptions().mean({0.1, 0.2, 0.3}).std({0.5, 2.0, 4.0})).apply(x, seeds);
    const auto mean = torch::tensor({0.1f, 0.2f, 0.3f}).view({1, 3, 1, 1});
    const auto std = torch::tensor({0.5f, 2.0f, 4.0f}).view({1, 3, 1, 1});
    CHECK(torch::equal(out, (x - mean) / std));
    const auto one = tempo::Normalize(tempo::NormalizeOptions().mean({0.5}).std({0.25})).apply(x, seeds);
    CHECK(torch::equal(one, (x - torch::tensor(0.5f)) / torch::tensor(0.25f)));
  }

  TEST_CASE("transforms reject bad options and images they cannot take, naming themselves and the shape") {
    CHECK_THROWS_AS(tempo::RandomCrop(tempo::RandomCropOptions().size(0)), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::RandomCrop(tempo::RandomCropOptions().padding(-1)), tempo::ConfigError);
    CHECK_THROWS_WITH_AS(tempo::HorizontalFlip(tempo::HorizontalFlipOptions().p(1.5)),
                         "horizontal_flip: p must be in [0, 1], got 1.5", tempo::ConfigError);
    CHECK_THROWS_WITH_AS(tempo::Normalize(tempo::NormalizeOptions().mean({0.0}).std({0.0})),
                         "normalize: every std must be > 0, got [0]", tempo::ConfigError);
    CHECK_THROWS_AS(tempo::Normalize(tempo::NormalizeOptions().mean({0.0, 1.0}).std({1.0})), tempo::ConfigError);

    const auto seeds = seeds_for(4);
    CHECK_THROWS_WITH_AS(tempo::apply_transforms(augment(), torch::zeros({4, 10}), 0, 0, {0, 1, 2, 3}),
                         "random_crop: expected images [N, C, H, W] or [N, H, W], got shape [4, 10]", tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::RandomCrop(tempo::RandomCropOptions().size(9).padding(1)).apply(torch::zeros({4, 1, 6, 6}), seeds),
                         doctest::Contains("random_crop: size 9 is larger than the padded images (8x8 with padding 1)"),
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::Normalize(tempo::NormalizeOptions().mean({0.0, 0.0}).std({1.0, 1.0})).apply(torch::zeros({4, 3, 2, 2}), seeds),
                         doctest::Contains("normalize: 2 mean/std values for images of 3 channels"), tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::Normalize(tempo::NormalizeOptions()).apply(torch::zeros({4, 1, 2, 2}, torch::kUInt8), seeds),
                         doctest::Contains("normalize: expected floating-point images"), tempo::DataError);
  }

  TEST_CASE("a loader's transforms key each sample's draws by (seed, epoch, index), never by its batch") {
    const int64_t n = 30;
    auto data = std::make_shared<tempo::TensorDataset>(torch::randn({n, 8, 8}), torch::arange(n));  // [N, H, W]
    auto options = [](int64_t batch_size) {
      return tempo::DataLoaderOptions().batch_size(batch_size).seed(3).transforms(augment());
    };
    const tempo::DataLoader by4(data, options(4)), by7(data, options(7));
    auto epoch_inputs = [](const tempo::DataLoader& loader, int64_t epoch) {
      std::vector<torch::Tensor> parts;
      for (int64_t k = 0; k < loader.num_batches(); ++k) parts.push_back(loader.batch(epoch, k).input);
      return torch::cat(parts);
    };
    const auto first = epoch_inputs(by4, 0);
    CHECK(first.sizes() == torch::IntArrayRef({n, 6, 6}));  // cropped, and [N, H, W] again
    CHECK(torch::equal(first, epoch_inputs(by7, 0)));
    CHECK(torch::equal(by4.batch(0, 2).input, by4.batch(0, 2).input));  // a pure function
    CHECK_FALSE(torch::equal(first, epoch_inputs(by4, 1)));            // other draws next epoch
    const tempo::DataLoader reseeded(data, options(4).seed(4));
    CHECK_FALSE(torch::equal(first, epoch_inputs(reseeded, 0)));

    // The global generator is never drawn from.
    torch::manual_seed(77);
    const auto expected = torch::rand({3});
    torch::manual_seed(77);
    epoch_inputs(by4, 0);
    CHECK(torch::equal(torch::rand({3}), expected));
  }
}
