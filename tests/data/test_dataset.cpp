#include "tempo/data/batch.h"
#include "tempo/data/dataset.h"

#include "tempo/errors/error.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_SUITE("data") {
  TEST_CASE("TensorDataset gathers the requested rows in order") {
    auto input = torch::arange(20, torch::kFloat32).reshape({10, 2});
    auto target = torch::arange(10, torch::kInt64) * 10;
    tempo::TensorDataset ds(input, target);
    CHECK(ds.size() == 10);
    const tempo::Batch b = ds.get_batch({7, 0, 7, 3});
    CHECK(b.size() == 4);
    CHECK(b.input.sizes() == torch::IntArrayRef({4, 2}));
    CHECK(torch::equal(b.target, torch::tensor({70, 0, 70, 30}, torch::kInt64)));
    CHECK(torch::equal(b.input[0], torch::tensor({14.0f, 15.0f})));
    CHECK(torch::equal(b.input[3], torch::tensor({6.0f, 7.0f})));
    CHECK(ds.get_batch({}).size() == 0);
  }

  TEST_CASE("TensorDataset rejects mismatched tensors and bad indices") {
    CHECK_THROWS_WITH_AS(tempo::TensorDataset(torch::zeros({5, 3}), torch::zeros({4})),
                         doctest::Contains("input has 5 samples but target has 4"),
                         tempo::DataError);
    CHECK_THROWS_AS(tempo::TensorDataset(torch::zeros({}), torch::zeros({})), tempo::DataError);
    CHECK_THROWS_AS(tempo::TensorDataset(torch::Tensor(), torch::zeros({4})), tempo::DataError);
    tempo::TensorDataset ds(torch::zeros({5, 3}), torch::zeros({5}));
    CHECK_THROWS_WITH_AS(ds.get_batch({1, 5}), doctest::Contains("index 5"), tempo::DataError);
    CHECK_THROWS_AS(ds.get_batch({-1}), tempo::DataError);
  }

  TEST_CASE("Batch size and device moves") {
    tempo::Batch empty;
    CHECK(empty.size() == 0);
    tempo::Batch b{torch::ones({3, 2}), torch::zeros({3}, torch::kInt64)};
    CHECK(b.size() == 3);
    const tempo::Batch moved = b.to(torch::kCPU);
    CHECK(torch::equal(moved.input, b.input));
    CHECK(moved.target.dtype() == torch::kInt64);
    if (torch::cuda::is_available()) {
      const tempo::Batch gpu = b.to(torch::Device(torch::kCUDA, 0), true);
      CHECK(gpu.input.is_cuda());
      CHECK(gpu.target.is_cuda());
      CHECK(torch::equal(gpu.input.cpu(), b.input));
    }
  }
}
