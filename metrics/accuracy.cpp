#include "tempo/metrics/accuracy.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>

#include "tempo/errors/error.h"

namespace tempo {

MulticlassAccuracy::MulticlassAccuracy(int64_t num_classes) : num_classes_(num_classes) {
  if (num_classes < 0) throw ConfigError(fmt::format("MulticlassAccuracy: num_classes must be >= 0, got {}", num_classes));
}

std::shared_ptr<Metric> MulticlassAccuracy::clone() const {
  auto copy = std::make_shared<MulticlassAccuracy>(*this);
  copy->own_accumulators();
  return copy;
}

std::shared_ptr<Metric> Accuracy::clone() const {
  auto copy = std::make_shared<Accuracy>(*this);
  copy->own_accumulators();
  return copy;
}

void MulticlassAccuracy::own_accumulators() {
  if (correct_.defined()) correct_ = correct_.clone();
}

void MulticlassAccuracy::update_state(const at::Tensor& outputs, const Batch& batch) {
  const auto& target = batch.target;
  const bool fits = outputs.defined() && target.defined() && outputs.dim() == 2 && target.dim() == 1 &&
                    target.scalar_type() == at::kLong && outputs.size(0) == target.size(0) &&
                    (num_classes_ == 0 || outputs.size(1) == num_classes_);
  if (!fits) {
    throw ConfigError(fmt::format(
        "{}: needs outputs [N, C{}] of class scores and int64 targets [N] of class indices, got outputs {} and "
        "targets {}; override Model::metrics() to choose metrics that fit this model",
        name(), num_classes_ == 0 ? "" : fmt::format(" = {}", num_classes_), describe(outputs), describe(target)));
  }
  auto correct = outputs.argmax(1).eq(target).sum();  // int64, on the outputs' device
  if (!correct_.defined() || correct_.device() != correct.device()) {
    correct_ = correct_.defined() ? correct_.to(correct.device()) + correct : correct;
  } else {
    correct_.add_(correct);
  }
  total_ += target.size(0);
}

void MulticlassAccuracy::reset_state() {
  correct_ = at::Tensor();
  total_ = 0;
}

int64_t MulticlassAccuracy::correct() const { return correct_.defined() ? correct_.item<int64_t>() : 0; }

double MulticlassAccuracy::compute() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(correct()) / static_cast<double>(total_);
}

void MulticlassAccuracy::save_state(Dict& dict) const {
  dict.insert("correct", correct());
  dict.insert("total", total_);
}

void MulticlassAccuracy::load_state(const Dict& dict, const std::string& path) {
  const auto correct = read_int(dict, "correct", path);
  const auto total = read_int(dict, "total", path);
  if (correct < 0 || total < 0 || correct > total) {
    throw CheckpointError(
        fmt::format("state tree: '{}' holds correct = {} of total = {} samples, which cannot be", path, correct, total));
  }
  correct_ = at::scalar_tensor(correct, at::kLong);
  total_ = total;
}

}  // namespace tempo
