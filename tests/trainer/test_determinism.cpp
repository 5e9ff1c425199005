#include <doctest/doctest.h>

#include "tempo/state/optimizer_state.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

TEST_SUITE("trainer") {
  TEST_CASE("two runs with the same seed end with bit-identical weights") {
    auto data = blobs(50);
    auto a = make_run(data, "3ep");
    a.trainer->fit();
    auto b = make_run(data, "3ep");
    b.trainer->fit();
    CHECK(bit_equal(weights(*a.model), weights(*b.model)));

    auto c = make_run(data, "3ep", /*seed=*/43);  // another shuffle and dropout stream
    c.trainer->fit();
    CHECK_FALSE(bit_equal(weights(*a.model), weights(*c.model)));
  }

  TEST_CASE("a mid-epoch state tree loaded into a fresh trainer continues bit-identically") {
    auto data = blobs(50);  // 13 batches of 4 per epoch
    auto full_losses = std::make_shared<LossRecorder>();
    auto full = make_run(data, "3ep", 42, 7, {full_losses});
    full.trainer->fit();

    auto first = make_run(data, "20ba");  // stops in epoch 1 at batch_in_epoch 7
    first.trainer->fit();
    CHECK(first.trainer->state().timestamp.epoch() == 1);
    CHECK(first.trainer->state().timestamp.batch_in_epoch() == 7);
    auto tree = first.trainer->state_dict();

    // Different initial weights and seed: everything must come from the tree.
    auto resumed_losses = std::make_shared<LossRecorder>();
    auto second = make_run(data, "3ep", /*seed=*/999, /*init_seed=*/1234, {resumed_losses});
    CHECK_FALSE(bit_equal(weights(*full.model), weights(*second.model)));
    second.trainer->load_state_dict(tree);
    CHECK(second.trainer->state().timestamp.batch() == 20);
    CHECK(second.trainer->state().rank_zero_seed == 42);
    second.trainer->fit();

    CHECK(second.trainer->state().timestamp.batch() == full.trainer->state().timestamp.batch());
    CHECK(bit_equal(weights(*full.model), weights(*second.model)));
    CHECK(bit_equal(adam_tensors(*full.optimizer), adam_tensors(*second.optimizer)));
    REQUIRE(resumed_losses->losses.size() == 39 - 20);
    for (const auto& [batch, loss] : resumed_losses->losses) {
      CHECK(full_losses->losses.at(batch) == loss);  // exact, not approximate
    }
  }

  TEST_CASE("prefetching the next batch changes timing only: weights bit-identical with it off") {
    auto data = blobs(50);
    auto with = make_run(data, "3ep");  // prefetch is the default
    with.trainer->fit();
    auto without = make_run(data, "3ep", [&](TrainerOptions& options) {
      options.train_dataloader(std::make_shared<DataLoader>(data, DataLoaderOptions().batch_size(4).shuffle(true).prefetch(false)));
    });
    without.trainer->fit();
    CHECK(with.trainer->state().timestamp.batch() == without.trainer->state().timestamp.batch());
    CHECK(bit_equal(weights(*with.model), weights(*without.model)));
  }

  TEST_CASE("fit(duration) trains further, and fit() past max_duration is refused") {
    auto data = blobs(20);
    auto once = make_run(data, "2ep");
    once.trainer->fit();

    auto twice = make_run(data, "1ep");
    twice.trainer->fit();
    CHECK_THROWS_WITH_AS(twice.trainer->fit(), doctest::Contains("already reached"), ConfigError);
    twice.trainer->fit(Time::parse("1ep"));
    CHECK(twice.trainer->state().timestamp.epoch() == 2);
    CHECK(bit_equal(weights(*once.model), weights(*twice.model)));

    // A longer max_duration in another unit continues too.
    twice.trainer->state().max_duration = Time::parse("12ba");
    twice.trainer->fit();
    CHECK(twice.trainer->state().timestamp.batch() == 12);
    CHECK_THROWS_AS(twice.trainer->fit(Time::parse("0.5dur")), ConfigError);
  }
}
