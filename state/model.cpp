#include "state/model.h"

#include <torch/nn/functional/loss.h>

namespace tempo {

torch::Tensor Model::loss(const torch::Tensor& outputs, const Batch& batch) {
  return torch::nn::functional::cross_entropy(outputs, batch.target);
}

}  // namespace tempo
