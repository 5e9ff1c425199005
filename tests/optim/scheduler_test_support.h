// Helpers for the optim suite: a State standing at a chosen batch of a run with 10 batches of 4
// samples per epoch, so a scheduler can be evaluated without training.
#pragma once

#include <torch/optim/optimizer.h>

#include <cmath>
#include <map>
#include <string>

#include "support/fixtures.h"
#include "tempo/time/timestamp.h"

namespace tempo::testing {

constexpr int64_t kBatchesPerEpoch = 10;
constexpr int64_t kBatchSize = 4;

inline State schedule_state(const std::string& max_duration) {
  State state;
  state.max_duration = Time::parse(max_duration);
  state.train_dataloader = loader(blobs(kBatchesPerEpoch * kBatchSize), kBatchSize, /*shuffle=*/false);
  return state;
}

// Puts `state` at the start of batch `batch` (0-based), counted in every unit.
inline void at_batch(State& state, int64_t batch) {
  TimestampFields f;
  f.batch = batch;
  f.epoch = batch / kBatchesPerEpoch;
  f.batch_in_epoch = batch % kBatchesPerEpoch;
  f.sample = batch * kBatchSize;
  f.sample_in_epoch = f.batch_in_epoch * kBatchSize;
  f.iteration = 0;
  f.epoch_in_iteration = f.epoch;
  state.timestamp = Timestamp(f);
}

inline const double kPi = std::acos(-1.0);

// The lr of the first param group at BATCH_START: the lr the batch trains with.
class LrRecorder : public Callback {
 public:
  std::map<int64_t, double> lrs;

 protected:
  void on_batch_start(State& state, Logger&) override {
    lrs[state.timestamp.batch()] = state.optimizers.at(0)->param_groups().at(0).options().get_lr();
  }
};

}  // namespace tempo::testing
