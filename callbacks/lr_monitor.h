// Logs every optimizer's learning rates after each batch (Composer's LRMonitor), under
// Composer's names "lr-<OptimizerClass>/group<i>" ("lr-Adam/group0"). Stateless.
#pragma once

#include "tempo/callbacks/callback.h"

namespace tempo {

class LRMonitor : public Callback {
 protected:
  void on_batch_end(State& state, Logger& logger) override;
};

}  // namespace tempo
