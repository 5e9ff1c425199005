#include "tempo/state/model.h"

#include <torch/nn/functional/loss.h>

#include "tempo/metrics/accuracy.h"
#include "tempo/metrics/loss_metric.h"

namespace tempo {

torch::Tensor Model::loss(const torch::Tensor& outputs, const Batch& batch) {
  return torch::nn::functional::cross_entropy(outputs, batch.target);
}

MetricMap Model::metrics(bool train) {
  if (train) return metric_map({std::make_shared<Accuracy>()});
  return metric_map({std::make_shared<Accuracy>(), std::make_shared<CrossEntropy>()});
}

std::map<std::string, std::string> Model::checkpoint_metadata() const { return {}; }

}  // namespace tempo
