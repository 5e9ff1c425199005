// make_safetensors_dataset: two named tensors of a safetensors file as inputs and targets.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "tempo/data/safetensors_dataset.h"
#include "tempo/errors/error.h"
#include "tempo/serialization/safetensors.h"
#include "support/temp_dir.h"

TEST_SUITE("data") {
  TEST_CASE("safetensors dataset: named inputs and targets, a missing name lists the names, shapes must agree") {
    tempo::testing::TempDir dir;
    const auto path = dir / "d.safetensors";
    const auto x = torch::arange(30, torch::kFloat64).reshape({10, 3});
    const auto y = torch::arange(10, torch::kInt64);
    tempo::write_safetensors({{"x", x}, {"y", y}, {"short", torch::zeros({9})}}, {}, path);
    const auto tensors = tempo::read_safetensors(path);
    const auto options = tempo::SafetensorsDatasetOptions().path(path).inputs("x").targets("y");
    const auto all = tempo::make_safetensors_dataset(tensors, options);
    REQUIRE(all->size() == 10);
    const auto batch = all->get_batch({9, 2});
    CHECK(torch::equal(batch.input, x.index_select(0, torch::tensor({9, 2}))));
    CHECK(torch::equal(batch.target, torch::tensor({9, 2}, torch::kInt64)));

    const auto train = tempo::make_safetensors_dataset(tensors, tempo::SafetensorsDatasetOptions(options).val_fraction(0.3));
    const auto val = tempo::make_safetensors_dataset(
        tensors, tempo::SafetensorsDatasetOptions(options).val_fraction(0.3).split(tempo::DataSplit::VALIDATION));
    CHECK(train->size() == 7);
    CHECK(val->size() == 3);
    std::vector<int64_t> seen;
    for (const auto& part : {train, val}) {
      std::vector<int64_t> all_rows(static_cast<size_t>(part->size()));
      for (size_t i = 0; i < all_rows.size(); ++i) all_rows[i] = static_cast<int64_t>(i);
      const auto b = part->get_batch(all_rows);
      CHECK(torch::equal(b.input.select(1, 0), (b.target * 3).to(torch::kFloat64)));  // rows stay paired
      for (int64_t i = 0; i < b.target.numel(); ++i) seen.push_back(b.target[i].item<int64_t>());
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

    CHECK_THROWS_WITH_AS(tempo::make_safetensors_dataset(tensors, tempo::SafetensorsDatasetOptions(options).targets("z")),
                         (path + ": no tensor 'z' for the targets (the file holds: x, y, short)").c_str(),
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(
        tempo::make_safetensors_dataset(tensors, tempo::SafetensorsDatasetOptions(options).targets("short")),
        (path + ":x has shape [10, 3] but " + path +
         ":short has shape [9]: inputs and targets must have the same first dimension (one row per sample)")
            .c_str(),
        tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::make_safetensors_dataset(tensors, tempo::SafetensorsDatasetOptions(options).inputs("")),
                         "safetensors: inputs is required (the name of the input tensor)", tempo::ConfigError);
  }
}
