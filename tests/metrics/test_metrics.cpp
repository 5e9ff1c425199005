// The built-in metrics against values worked out by hand or by a separate computation.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "tempo/errors/error.h"
#include "tempo/metrics/accuracy.h"
#include "tempo/metrics/loss_metric.h"
#include "tempo/metrics/mean_squared_error.h"
#include "tempo/metrics/metric.h"

namespace {

using tempo::Batch;

Batch batch_of(torch::Tensor target) { return Batch{torch::zeros({target.size(0), 1}), std::move(target)}; }

}  // namespace

TEST_SUITE("metrics") {
TEST_CASE("MulticlassAccuracy counts the samples whose largest score is the target") {
  tempo::MulticlassAccuracy accuracy;
  CHECK(accuracy.name() == "MulticlassAccuracy");
  CHECK(std::isnan(accuracy.compute()));
  CHECK(accuracy.update_count() == 0);
  // Argmax per row: 1, 0, 2, 2; targets 1, 0, 1, 2: three of four right.
  auto outputs = torch::tensor({{0.1, 0.8, 0.1}, {2.0, -1.0, 0.5}, {0.0, 0.2, 0.3}, {-3.0, -2.0, -1.0}});
  accuracy.update(outputs, batch_of(torch::tensor({1, 0, 1, 2}, torch::kLong)));
  CHECK(accuracy.compute() == 0.75);
  // One more batch of two, one right: 4 of 6.
  accuracy.update(torch::tensor({{1.0, 0.0, 0.0}, {1.0, 0.0, 0.0}}), batch_of(torch::tensor({0, 2}, torch::kLong)));
  CHECK(accuracy.compute() == 4.0 / 6.0);
  CHECK(accuracy.update_count() == 2);
  accuracy.reset();
  CHECK(std::isnan(accuracy.compute()));
  CHECK(accuracy.update_count() == 0);
}

TEST_CASE("Accuracy is MulticlassAccuracy under its older name") {
  tempo::Accuracy accuracy;
  CHECK(accuracy.name() == "Accuracy");
  accuracy.update(torch::tensor({{0.0, 1.0}, {1.0, 0.0}}), batch_of(torch::tensor({1, 1}, torch::kLong)));
  CHECK(accuracy.compute() == 0.5);
  auto copy = accuracy.clone();
  CHECK(copy->name() == "Accuracy");
  CHECK(copy->compute() == 0.5);
  // The copy's accumulators are its own.
  copy->update(torch::tensor({{0.0, 1.0}}), batch_of(torch::tensor({1}, torch::kLong)));
  CHECK(copy->compute() == 2.0 / 3.0);
  CHECK(accuracy.compute() == 0.5);
}

TEST_CASE("MulticlassAccuracy is independent of how samples are split into batches") {
  auto gen = at::detail::createCPUGenerator(5);
  auto outputs = torch::randn({103, 7}, gen);
  auto targets = torch::randint(0, 7, {103}, gen, torch::kLong);
  const auto expected = static_cast<double>(outputs.argmax(1).eq(targets).sum().item<int64_t>()) / 103.0;
  tempo::MulticlassAccuracy whole, pieces;
  whole.update(outputs, batch_of(targets));
  for (int64_t start = 0; start < 103; start += 10) {
    const int64_t length = std::min<int64_t>(10, 103 - start);
    pieces.update(outputs.narrow(0, start, length), batch_of(targets.narrow(0, start, length)));
  }
  CHECK(whole.compute() == expected);
  CHECK(pieces.compute() == expected);
}

TEST_CASE("MulticlassAccuracy rejects outputs and targets that are not class scores and indices") {
  tempo::MulticlassAccuracy accuracy;
  CHECK_THROWS_AS(accuracy.update(torch::zeros({4}), batch_of(torch::zeros({4}, torch::kLong))), tempo::ConfigError);
  CHECK_THROWS_AS(accuracy.update(torch::zeros({4, 3}), batch_of(torch::zeros({4}))), tempo::ConfigError);
  CHECK_THROWS_WITH(accuracy.update(torch::zeros({4, 1}), batch_of(torch::zeros({4, 1}))),
                    doctest::Contains("override Model::metrics()"));
  tempo::MulticlassAccuracy three(3);
  CHECK_THROWS_AS(three.update(torch::zeros({2, 4}), batch_of(torch::zeros({2}, torch::kLong))), tempo::ConfigError);
  CHECK(accuracy.update_count() == 0);
  CHECK_THROWS_AS(tempo::MulticlassAccuracy(-1), tempo::ConfigError);
}

TEST_CASE("LossMetric weights each batch's mean loss by its number of samples") {
  // The "loss" is the mean of the targets, so the expected value is the mean over all samples.
  tempo::LossMetric metric([](const at::Tensor&, const Batch& batch) { return batch.target.mean(); }, "MeanTarget");
  CHECK(metric.name() == "MeanTarget");
  metric.update(torch::zeros({3, 1}), batch_of(torch::tensor({1.0, 2.0, 3.0})));  // mean 2, 3 samples
  metric.update(torch::zeros({1, 1}), batch_of(torch::tensor({10.0})));           // mean 10, 1 sample
  CHECK(metric.compute() == doctest::Approx(16.0 / 4.0).epsilon(1e-15));  // not (2 + 10) / 2
  metric.reset();
  CHECK(std::isnan(metric.compute()));
  CHECK_THROWS_AS(tempo::LossMetric(nullptr), tempo::ConfigError);
  tempo::LossMetric not_scalar([](const at::Tensor& outputs, const Batch&) { return outputs; });
  CHECK_THROWS_AS(not_scalar.update(torch::zeros({2, 2}), batch_of(torch::zeros({2}))), tempo::ConfigError);
}

TEST_CASE("CrossEntropy is the sample-weighted mean of torch's cross entropy") {
  auto gen = at::detail::createCPUGenerator(11);
  auto a = torch::randn({5, 4}, gen), b = torch::randn({2, 4}, gen);
  auto ta = torch::randint(0, 4, {5}, gen, torch::kLong), tb = torch::randint(0, 4, {2}, gen, torch::kLong);
  tempo::CrossEntropy metric;
  CHECK(metric.name() == "CrossEntropy");
  metric.update(a, batch_of(ta));
  metric.update(b, batch_of(tb));
  // Independently: the per-sample losses in double, averaged over all seven samples.
  auto all = torch::cat({a, b}).to(torch::kDouble);
  auto targets = torch::cat({ta, tb});
  const double expected = torch::nn::functional::cross_entropy(
                              all, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                              .item<double>() /
                          7.0;
  CHECK(metric.compute() == doctest::Approx(expected).epsilon(1e-6));
  CHECK_THROWS_AS(metric.update(torch::zeros({3, 2}), batch_of(torch::zeros({2}, torch::kLong))), tempo::ConfigError);
}

TEST_CASE("MeanSquaredError averages over every element") {
  tempo::MeanSquaredError mse;
  mse.update(torch::tensor({{1.0, 2.0}, {3.0, 4.0}}), batch_of(torch::tensor({{1.0, 0.0}, {0.0, 4.0}})));  // 0+4+9+0
  mse.update(torch::tensor({{0.0, 0.0}}), batch_of(torch::tensor({{1.0, 1.0}})));                          // 1+1
  CHECK(mse.compute() == 15.0 / 6.0);
  CHECK_THROWS_AS(mse.update(torch::zeros({2, 2}), batch_of(torch::zeros({2}))), tempo::ConfigError);
}

TEST_CASE("state_dict holds the accumulators and load_state_dict restores them exactly") {
  auto gen = at::detail::createCPUGenerator(3);
  auto outputs = torch::randn({9, 5}, gen);
  auto targets = torch::randint(0, 5, {9}, gen, torch::kLong);
  std::vector<std::shared_ptr<tempo::Metric>> metrics = {std::make_shared<tempo::MulticlassAccuracy>(),
                                                         std::make_shared<tempo::CrossEntropy>(),
                                                         std::make_shared<tempo::MeanSquaredError>()};
  auto one_hot = torch::nn::functional::one_hot(targets, 5).to(torch::kFloat);
  for (auto& metric : metrics) {
    CAPTURE(metric->name());
    const auto& target = metric->name() == "MeanSquaredError" ? one_hot : targets;
    metric->update(outputs.narrow(0, 0, 4), batch_of(target.narrow(0, 0, 4)));
    auto saved = metric->state_dict();
    REQUIRE(saved.isGenericDict());
    CHECK(saved.toGenericDict().at("update_count").toInt() == 1);
    // A fresh metric takes the tree back and continues as the original does.
    auto restored = metric->clone();
    restored->reset();
    restored->load_state_dict(saved, "m");
    CHECK(restored->update_count() == 1);
    CHECK(restored->compute() == metric->compute());
    metric->update(outputs.narrow(0, 4, 5), batch_of(target.narrow(0, 4, 5)));
    restored->update(outputs.narrow(0, 4, 5), batch_of(target.narrow(0, 4, 5)));
    CHECK(restored->compute() == metric->compute());  // bit for bit
    // Its state dict is plain numbers.
    for (const auto& entry : metric->state_dict().toGenericDict()) {
      CHECK((entry.value().isInt() || entry.value().isDouble()));
    }
  }
}

TEST_CASE("MulticlassAccuracy's state_dict is {correct, total, update_count}") {
  tempo::MulticlassAccuracy accuracy;
  accuracy.update(torch::tensor({{1.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}}), batch_of(torch::tensor({0, 1, 1}, torch::kLong)));
  auto dict = accuracy.state_dict().toGenericDict();
  CHECK(dict.at("correct").toInt() == 2);
  CHECK(dict.at("total").toInt() == 3);
  CHECK(dict.at("update_count").toInt() == 1);
}

TEST_CASE("load_state_dict names what is wrong and changes nothing") {
  tempo::MulticlassAccuracy accuracy;
  accuracy.update(torch::tensor({{1.0, 0.0}}), batch_of(torch::tensor({0}, torch::kLong)));
  c10::impl::GenericDict bad(c10::StringType::get(), c10::AnyType::get());
  bad.insert("correct", int64_t{5});
  bad.insert("update_count", int64_t{1});
  CHECK_THROWS_WITH_AS(accuracy.load_state_dict(bad, "state/train_metrics/Accuracy/state_dict"),
                       doctest::Contains("state/train_metrics/Accuracy/state_dict/total"), tempo::CheckpointError);
  bad.insert("total", int64_t{3});  // 5 correct of 3
  CHECK_THROWS_AS(accuracy.load_state_dict(bad, "m"), tempo::CheckpointError);
  bad.insert_or_assign("total", std::string("three"));
  CHECK_THROWS_WITH(accuracy.load_state_dict(bad, "m"), doctest::Contains("'m/total' should be an integer"));
  CHECK_THROWS_AS(accuracy.load_state_dict(c10::IValue(1.0), "m"), tempo::CheckpointError);
  CHECK(accuracy.compute() == 1.0);
  CHECK(accuracy.update_count() == 1);
}

TEST_CASE("metric_map keys metrics by name; filter_metrics picks them as Composer's metric_names") {
  auto map = tempo::metric_map({std::make_shared<tempo::MulticlassAccuracy>(), std::make_shared<tempo::CrossEntropy>()});
  CHECK(map.size() == 2);
  CHECK(map.count("MulticlassAccuracy") == 1);
  CHECK(map.count("CrossEntropy") == 1);
  CHECK_THROWS_AS(tempo::metric_map({std::make_shared<tempo::Accuracy>(), std::make_shared<tempo::Accuracy>()}),
                  tempo::ConfigError);
  CHECK(tempo::filter_metrics(map, {}).size() == 2);
  auto only = tempo::filter_metrics(map, {"accuracy"});  // case-insensitive, contained
  CHECK(only.size() == 1);
  CHECK(only.count("MulticlassAccuracy") == 1);
  CHECK(tempo::filter_metrics(map, {"Cross.*", "nothing"}).size() == 1);
  CHECK(tempo::filter_metrics(map, {"nothing"}).empty());
  CHECK_THROWS_AS(tempo::filter_metrics(map, {"("}), tempo::ConfigError);
}
}
