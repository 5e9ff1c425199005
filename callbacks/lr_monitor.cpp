#include "tempo/callbacks/lr_monitor.h"

#include <torch/optim/optimizer.h>

#include "tempo/callbacks/logger.h"
#include "tempo/state/optimizer_state.h"
#include "tempo/state/state.h"

namespace tempo {

void LRMonitor::on_batch_end(State& state, Logger& logger) {
  Metrics metrics;
  for (const auto& optimizer : state.optimizers) {
    const auto prefix = "lr-" + optimizer_type_name(*optimizer) + "/group";
    const auto& groups = optimizer->param_groups();
    for (size_t i = 0; i < groups.size(); ++i) metrics[prefix + std::to_string(i)] = groups[i].options().get_lr();
  }
  if (!metrics.empty()) logger.log_metrics(metrics);
}

}  // namespace tempo
