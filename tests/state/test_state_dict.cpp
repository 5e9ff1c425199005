#include <doctest/doctest.h>

#include "tempo/state/model_state.h"
#include "tempo/state/optimizer_state.h"
#include "tempo/state/tree.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::vector<std::string> keys(const c10::IValue& value) {
  std::vector<std::string> out;
  for (const auto& entry : value.toGenericDict()) out.push_back(entry.key().toStringRef());
  return out;
}

// A callback with one counter of state, to check per-instance keys.
class Counter : public Callback {
 public:
  int64_t count = 0;
  c10::IValue state_dict() const override {
    auto d = new_tree_dict();
    d.insert("count", count);
    return d;
  }
  void load_state_dict(const c10::IValue& s) override { count = tree_int(tree_dict(s, "Counter"), "count", "Counter"); }

 protected:
  void on_batch_end(State&, Logger&) override { ++count; }
};

}  // namespace

TEST_SUITE("state") {
  TEST_CASE("the checkpoint tree has Composer's anatomy and key order") {
    auto run = make_run(blobs(12), "2ba");
    run.trainer->fit();
    auto tree = run.trainer->state_dict();
    CHECK(keys(tree) == std::vector<std::string>{"state", "rng"});
    auto state = tree.toGenericDict().at("state");
    CHECK(keys(state) == std::vector<std::string>{"model", "optimizers", "schedulers", "algorithms", "callbacks",
                                                  "scaler", "timestamp", "rank_zero_seed", "train_metrics",
                                                  "eval_metrics", "run_name", "dataset_state", "integrations",
                                                  "metadata"});
    auto s = state.toGenericDict();
    CHECK(keys(s.at("model")) == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
    CHECK(s.at("run_name").toStringRef() == "test-run");
    CHECK(s.at("rank_zero_seed").toInt() == 42);
    // Composer's {"Timestamp": {counters}}, the wall clocks beside it as float seconds.
    CHECK(keys(s.at("timestamp")) == std::vector<std::string>{"Timestamp", "wct_seconds"});
    auto timestamp = s.at("timestamp").toGenericDict().at("Timestamp").toGenericDict();
    CHECK(keys(timestamp) == std::vector<std::string>{"iteration", "epoch", "batch", "sample", "token",
                                                      "epoch_in_iteration", "token_in_iteration", "batch_in_epoch",
                                                      "sample_in_epoch", "token_in_epoch"});
    CHECK(timestamp.at("batch").toInt() == 2);
    CHECK(timestamp.at("sample").toInt() == 8);
    auto wall_clock = s.at("timestamp").toGenericDict().at("wct_seconds").toGenericDict();
    CHECK(keys(wall_clock) == std::vector<std::string>{"total_wct", "iteration_wct", "epoch_wct", "batch_wct"});
    CHECK(wall_clock.at("total_wct").toDouble() > 0.0);

    // PyTorch's optimizer layout under the class name.
    auto adam = s.at("optimizers").toGenericDict().at("Adam").toGenericDict();
    CHECK(keys(adam) == std::vector<std::string>{"state", "param_groups"});
    auto group = adam.at("param_groups").toList().get(0).toGenericDict();
    CHECK(group.at("lr").toDouble() == doctest::Approx(1e-2));
    CHECK(group.at("betas").isTuple());
    CHECK(group.at("params").toIntVector() == std::vector<int64_t>{0, 1, 2, 3});
    auto param0 = adam.at("state").toGenericDict().at(0).toGenericDict();
    CHECK(keys(param0) == std::vector<std::string>{"step", "exp_avg", "exp_avg_sq"});
    CHECK(param0.at("step").toTensor().item<float>() == 2.0f);
    CHECK((param0.at("step").toTensor().scalar_type() == torch::kFloat));

    auto rng = tree.toGenericDict().at("rng").toList();
    REQUIRE(rng.size() == 1);
    auto generators = rng.get(0).toGenericDict();
    CHECK(keys(generators) == std::vector<std::string>{"torch", "python", "numpy"});
    CHECK(generators.at("torch").toTensor().numel() == 5056);
    // Python's and NumPy's generators as Composer's seed_all(42) leaves them (tests/util has the words).
    const auto python = generators.at("python").toTupleRef().elements();
    REQUIRE(python.size() == 3);
    CHECK(python[0].toInt() == 3);
    CHECK(python[1].toTupleRef().elements().size() == 625);
    CHECK(python[1].toTupleRef().elements()[624].toInt() == 624);
    CHECK(python[2].isNone());
    const auto numpy = generators.at("numpy").toTupleRef().elements();
    REQUIRE(numpy.size() == 5);
    CHECK(numpy[0].toStringRef() == "MT19937");
    CHECK(numpy[1].toList().get(0).toInt() == 42);
    CHECK(numpy[2].toInt() == 624);
  }

  TEST_CASE("two callbacks of one class keep their own state under per-instance keys") {
    auto first = std::make_shared<Counter>();
    auto second = std::make_shared<Counter>();
    auto run = make_run(blobs(12), "3ba", 42, 7, {first, second});
    run.trainer->fit();
    first->count = 100;  // make the two differ
    auto tree = run.trainer->state_dict();
    auto callbacks = tree.toGenericDict().at("state").toGenericDict().at("callbacks");
    CHECK(keys(callbacks) == std::vector<std::string>{"Counter", "Counter_1"});

    auto a = std::make_shared<Counter>();
    auto b = std::make_shared<Counter>();
    auto fresh = make_run(blobs(12), "3ba", 42, 7, {a, b});
    fresh.trainer->load_state_dict(tree);
    CHECK(a->count == 100);
    CHECK(b->count == 3);
  }

  TEST_CASE("a model that does not match is refused with every bad key listed, and nothing changes") {
    auto run = make_run(blobs(12), "1ba");
    auto tree = model_state_dict(*run.model).toGenericDict().copy();
    REQUIRE(tree.erase("fc1.bias") == 1);
    tree.insert("extra.weight", torch::zeros({1}));
    tree.insert_or_assign("fc2.weight", torch::zeros({3, 16}));
    const auto before = weights(*run.model);
    try {
      load_model_state_dict(*run.model, tree, "state/model");
      FAIL("expected a CheckpointError");
    } catch (const CheckpointError& e) {
      const std::string what = e.what();
      CHECK(what.find("missing keys: fc1.bias") != std::string::npos);
      CHECK(what.find("unexpected keys: extra.weight") != std::string::npos);
      CHECK(what.find("fc2.weight (checkpoint [3, 16] vs model [2, 16])") != std::string::npos);
    }
    CHECK(bit_equal(before, weights(*run.model)));

    // Non-strict: missing and unexpected are skipped and reported; shapes still must match.
    tree.insert_or_assign("fc2.weight", torch::ones({2, 16}));
    auto report = load_model_state_dict(*run.model, tree, "state/model", /*strict=*/false);
    CHECK(report.find("missing keys: fc1.bias") != std::string::npos);
    CHECK(torch::equal(run.model->fc2->weight, torch::ones({2, 16})));
  }

  TEST_CASE("optimizer state round-trips for SGD with momentum and refuses a mismatched model") {
    torch::manual_seed(0);
    auto model = std::make_shared<TinyNet>();
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
    model->forward(torch::randn({3, 8})).sum().backward();
    sgd.step();
    auto tree = optimizer_state_dict(sgd);
    auto group = tree.toGenericDict().at("param_groups").toList().get(0).toGenericDict();
    CHECK(group.at("momentum").toDouble() == doctest::Approx(0.9));
    CHECK(group.at("nesterov").toBool());

    auto other_model = std::make_shared<TinyNet>();
    torch::optim::SGD other(other_model->parameters(), torch::optim::SGDOptions(0.5));
    load_optimizer_state_dict(other, tree, "state/optimizers/SGD");
    auto& options = static_cast<torch::optim::SGDOptions&>(other.param_groups()[0].options());
    CHECK(options.lr() == doctest::Approx(0.1));
    CHECK(options.momentum() == doctest::Approx(0.9));
    auto reloaded = optimizer_state_dict(other).toGenericDict().at("state").toGenericDict();
    auto original = tree.toGenericDict().at("state").toGenericDict();
    for (int64_t i = 0; i < 4; ++i) {
      CHECK(torch::equal(reloaded.at(i).toGenericDict().at("momentum_buffer").toTensor(),
                         original.at(i).toGenericDict().at("momentum_buffer").toTensor()));
    }

    auto wide = std::make_shared<TinyNet>(/*features=*/5);
    torch::optim::SGD wrong(wide->parameters(), torch::optim::SGDOptions(0.5));
    CHECK_THROWS_WITH_AS(load_optimizer_state_dict(wrong, tree, "state/optimizers/SGD"),
                         doctest::Contains("state/optimizers/SGD/state/0/momentum_buffer"), CheckpointError);
    CHECK(static_cast<torch::optim::SGDOptions&>(wrong.param_groups()[0].options()).lr() == doctest::Approx(0.5));
    CHECK(wrong.state().empty());
  }

  TEST_CASE("a broken tree is refused before anything changes") {
    auto run = make_run(blobs(12), "2ba");
    run.trainer->fit();
    auto tree = run.trainer->state_dict();
    auto fresh = make_run(blobs(12), "2ba", 42, 99);
    const auto before = weights(*fresh.model);
    auto state = tree.toGenericDict().at("state").toGenericDict().copy();
    state.insert_or_assign("timestamp", std::string("not a timestamp"));
    auto broken = new_tree_dict();
    broken.insert("state", state);
    CHECK_THROWS_WITH_AS(fresh.trainer->load_state_dict(broken), doctest::Contains("state/timestamp"),
                         CheckpointError);
    CHECK(bit_equal(before, weights(*fresh.model)));
    CHECK(fresh.trainer->state().timestamp.batch() == 0);
  }

  // Composer keys optimizer state by parameter name; tempo checks each name against the model.
  TEST_CASE("optimizer state keyed by parameter names (Composer's form) loads; a name out of place is refused") {
    auto run = make_run(blobs(12), "2ba");
    run.trainer->fit();
    auto tree = run.trainer->state_dict();
    auto state = tree.toGenericDict().at("state").toGenericDict();
    const auto adam = state.at("optimizers").toGenericDict().at("Adam").toGenericDict();
    const std::vector<std::string> names = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    const auto by_name = [&](const std::vector<std::string>& order) {
      auto named_state = new_tree_dict();
      for (int64_t i = 0; i < 4; ++i) named_state.insert(names[i], adam.at("state").toGenericDict().at(i));
      auto group = adam.at("param_groups").toList().get(0).toGenericDict().copy();
      c10::List<std::string> params;
      for (const auto& n : order) params.push_back(n);
      group.insert_or_assign("params", params);
      c10::impl::GenericList groups(c10::AnyType::get());
      groups.push_back(group);
      auto optimizer = new_tree_dict();
      optimizer.insert("state", named_state);
      optimizer.insert("param_groups", groups);
      auto optimizers = new_tree_dict();
      optimizers.insert("Adam", optimizer);
      auto copy = state.copy();
      copy.insert_or_assign("optimizers", optimizers);
      auto checkpoint = new_tree_dict();
      checkpoint.insert("state", copy);
      return checkpoint;
    };

    auto fresh = make_run(blobs(12), "2ba", 42, 99);
    fresh.trainer->load_state_dict(by_name(names));
    CHECK(bit_equal(adam_tensors(*run.optimizer), adam_tensors(*fresh.optimizer)));

    auto other = make_run(blobs(12), "2ba", 42, 99);
    CHECK_THROWS_WITH_AS(other.trainer->load_state_dict(by_name({"fc1.bias", "fc1.weight", "fc2.weight", "fc2.bias"})),
                         doctest::Contains("'state/optimizers/Adam/param_groups/0/params/0' is 'fc1.bias', but the "
                                           "optimizer's parameter there is 'fc1.weight' in this run's model"),
                         CheckpointError);
    CHECK(other.optimizer->state().empty());
  }
}
