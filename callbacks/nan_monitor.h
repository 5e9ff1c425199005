// Stops a run whose loss has gone bad (Composer's NaNMonitor): at AFTER_LOSS, if any element of
// state.loss is NaN or infinite, throws TrainingError naming the epoch and batch, e.g.
// "loss is NaN at epoch 0, batch 7 (batch_in_epoch 7)". Checking reads the loss back to the
// host once per (micro)batch. Stateless.
#pragma once

#include "tempo/callbacks/callback.h"

namespace tempo {

class NaNMonitor : public Callback {
 protected:
  void on_after_loss(State& state, Logger& logger) override;
};

}  // namespace tempo
