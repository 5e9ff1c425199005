#include "tempo/metrics/mean_squared_error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>

#include "tempo/errors/error.h"

namespace tempo {

std::shared_ptr<Metric> MeanSquaredError::clone() const {
  auto copy = std::make_shared<MeanSquaredError>(*this);
  if (sum_squared_error_.defined()) copy->sum_squared_error_ = sum_squared_error_.clone();
  return copy;
}

void MeanSquaredError::update_state(const at::Tensor& outputs, const Batch& batch) {
  const auto& target = batch.target;
  if (!outputs.defined() || !target.defined() || outputs.sizes() != target.sizes()) {
    throw ConfigError(fmt::format(
        "MeanSquaredError: needs outputs and targets of the same shape, got outputs {} and targets {}",
        describe(outputs), describe(target)));
  }
  auto error = (outputs.detach().to(at::kDouble) - target.to(outputs.device(), at::kDouble)).square().sum();
  if (!sum_squared_error_.defined() || sum_squared_error_.device() != error.device()) {
    sum_squared_error_ = sum_squared_error_.defined() ? sum_squared_error_.to(error.device()) + error : error;
  } else {
    sum_squared_error_.add_(error);
  }
  total_ += target.numel();
}

void MeanSquaredError::reset_state() {
  sum_squared_error_ = at::Tensor();
  total_ = 0;
}

double MeanSquaredError::compute() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return sum_squared_error_.item<double>() / static_cast<double>(total_);
}

void MeanSquaredError::save_state(Dict& dict) const {
  dict.insert("sum_squared_error", sum_squared_error_.defined() ? sum_squared_error_.item<double>() : 0.0);
  dict.insert("total", total_);
}

void MeanSquaredError::load_state(const Dict& dict, const std::string& path) {
  const auto sum = read_double(dict, "sum_squared_error", path);
  const auto total = read_int(dict, "total", path);
  if (total < 0 || sum < 0) {
    throw CheckpointError(fmt::format("state tree: '{}' holds a negative sum ({}) or total ({})", path, sum, total));
  }
  sum_squared_error_ = at::scalar_tensor(sum, at::kDouble);
  total_ = total;
}

}  // namespace tempo
