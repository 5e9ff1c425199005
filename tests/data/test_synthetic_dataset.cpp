#include "tempo/data/synthetic_dataset.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "tempo/data/batch.h"
#include "tempo/errors/error.h"

TEST_SUITE("data") {
  TEST_CASE("synthetic data: same arguments same tensors, the global RNG untouched, sizes checked") {
    torch::manual_seed(1);
    const auto before = torch::rand({4});
    torch::manual_seed(1);
    const auto a = tempo::make_synthetic_dataset(32, {3, 2}, 4, 7);
    CHECK(torch::equal(torch::rand({4}), before));

    const auto b = tempo::make_synthetic_dataset(32, {3, 2}, 4, 7);
    const auto c = tempo::make_synthetic_dataset(32, {3, 2}, 4, 8);
    REQUIRE(a->size() == 32);
    std::vector<int64_t> all(32);
    for (int64_t i = 0; i < 32; ++i) all[static_cast<size_t>(i)] = i;
    const auto batch_a = a->get_batch(all), batch_b = b->get_batch(all), batch_c = c->get_batch(all);
    CHECK(batch_a.input.sizes() == torch::IntArrayRef({32, 3, 2}));
    CHECK((batch_a.input.scalar_type() == torch::kFloat32));
    CHECK((batch_a.target.scalar_type() == torch::kInt64));
    CHECK(batch_a.target.min().item<int64_t>() >= 0);
    CHECK(batch_a.target.max().item<int64_t>() < 4);
    CHECK(torch::equal(batch_a.input, batch_b.input));
    CHECK(torch::equal(batch_a.target, batch_b.target));
    CHECK_FALSE(torch::equal(batch_a.input, batch_c.input));

    CHECK_THROWS_WITH_AS(tempo::make_synthetic_dataset(0, {3}, 4, 7), "synthetic: num_samples must be positive, got 0",
                         tempo::ConfigError);
    CHECK_THROWS_AS(tempo::make_synthetic_dataset(8, {3}, 0, 7), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::make_synthetic_dataset(8, {}, 4, 7), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::make_synthetic_dataset(8, {3, 0}, 4, 7), tempo::ConfigError);
  }
}
