#include "tempo/callbacks/nan_monitor.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {

void NaNMonitor::on_after_loss(State& state, Logger&) {
  if (!state.loss.defined()) return;
  const auto loss = state.loss.detach();
  if (torch::isfinite(loss).all().item<bool>()) return;
  const bool nan = torch::isnan(loss).any().item<bool>();
  const auto& t = state.timestamp;
  throw TrainingError(fmt::format("loss is {} at epoch {}, batch {} (batch_in_epoch {})", nan ? "NaN" : "inf", t.epoch(),
                                  t.batch(), t.batch_in_epoch()));
}

}  // namespace tempo
