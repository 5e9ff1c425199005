#include "tempo/metrics/loss_metric.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>

#include "tempo/errors/error.h"

namespace tempo {

LossMetric::LossMetric(LossFunction loss_function, std::string name)
    : loss_function_(std::move(loss_function)), name_(std::move(name)) {
  if (!loss_function_) throw ConfigError(fmt::format("{}: the loss function is empty", name_));
}

std::shared_ptr<Metric> LossMetric::clone() const {
  auto copy = std::make_shared<LossMetric>(*this);
  if (sum_loss_.defined()) copy->sum_loss_ = sum_loss_.clone();
  return copy;
}

void LossMetric::update_state(const at::Tensor& outputs, const Batch& batch) {
  const auto loss = loss_function_(outputs, batch);
  if (!loss.defined() || loss.numel() != 1) {
    throw ConfigError(fmt::format("{}: the loss function must return the batch's mean loss, one number; got {}", name_,
                                  describe(loss)));
  }
  const int64_t n = batch.size();
  // The mean as a double, times the batch size, added in double: exact up to the loss itself.
  auto weighted = loss.detach().reshape({}).to(at::kDouble) * static_cast<double>(n);
  if (!sum_loss_.defined() || sum_loss_.device() != weighted.device()) {
    sum_loss_ = sum_loss_.defined() ? sum_loss_.to(weighted.device()) + weighted : weighted;
  } else {
    sum_loss_.add_(weighted);
  }
  total_ += n;
}

void LossMetric::reset_state() {
  sum_loss_ = at::Tensor();
  total_ = 0;
}

double LossMetric::compute() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return sum_loss_.item<double>() / static_cast<double>(total_);
}

void LossMetric::save_state(Dict& dict) const {
  dict.insert("sum_loss", sum_loss_.defined() ? sum_loss_.item<double>() : 0.0);
  dict.insert("total", total_);
}

void LossMetric::load_state(const Dict& dict, const std::string& path) {
  const auto sum_loss = read_double(dict, "sum_loss", path);
  const auto total = read_int(dict, "total", path);
  if (total < 0) throw CheckpointError(fmt::format("state tree: '{}/total' is negative ({})", path, total));
  sum_loss_ = at::scalar_tensor(sum_loss, at::kDouble);
  total_ = total;
}

CrossEntropy::CrossEntropy()
    : LossMetric(
          [](const at::Tensor& outputs, const Batch& batch) {
            const auto& target = batch.target;
            if (!outputs.defined() || !target.defined() || outputs.dim() < 1 || target.dim() < 1 ||
                outputs.size(0) != target.size(0)) {
              throw ConfigError(fmt::format(
                  "CrossEntropy: needs outputs [N, C] of class scores and targets [N] of class indices (or [N, C] "
                  "of probabilities), got outputs {} and targets {}; override Model::metrics() to choose metrics "
                  "that fit this model",
                  Metric::describe(outputs), Metric::describe(target)));
            }
            return at::cross_entropy_loss(outputs, target);
          },
          "CrossEntropy") {}

}  // namespace tempo
