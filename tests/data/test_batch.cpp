#include "tempo/data/batch.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "tempo/errors/error.h"

TEST_SUITE("data") {
  TEST_CASE("Batch::narrow gives views of a range of samples, sharing memory with the batch") {
    tempo::Batch batch{torch::arange(20, torch::kFloat).reshape({10, 2}), torch::arange(10)};
    const auto part = batch.narrow(4, 3);
    CHECK(part.size() == 3);
    CHECK(torch::equal(part.input, batch.input.slice(0, 4, 7)));
    CHECK(torch::equal(part.target, torch::tensor({4, 5, 6})));
    CHECK(part.input.data_ptr() == batch.input[4].data_ptr());  // a view, not a copy
    part.target.fill_(-1);
    CHECK(batch.target[5].item<int64_t>() == -1);
    CHECK(batch.narrow(8, 2).size() == 2);
  }

  TEST_CASE("Batch::narrow outside the batch is a DataError") {
    tempo::Batch batch{torch::zeros({4, 2}), torch::zeros({4})};
    CHECK_THROWS_WITH_AS(batch.narrow(3, 2), "Batch::narrow(3, 2): outside the batch's 4 samples", tempo::DataError);
    CHECK_THROWS_AS(batch.narrow(-1, 1), tempo::DataError);
    CHECK_THROWS_AS(batch.narrow(0, 0), tempo::DataError);
  }
}
