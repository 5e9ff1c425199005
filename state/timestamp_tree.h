// A Timestamp as a state-tree dict with Composer's keys (iteration, epoch, batch, sample, token,
// epoch_in_iteration, token_in_iteration, batch_in_epoch, sample_in_epoch, token_in_epoch,
// total_wct, iteration_wct, epoch_wct, batch_wct). Composer pickles the wall-clock fields as
// datetime.timedelta, which a weights_only loader refuses; tempo stores them as float seconds.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

#include "tempo/time/timestamp.h"

namespace tempo {

c10::IValue timestamp_to_tree(const Timestamp& timestamp);
// Missing counters from older files default to 0, as Composer's load_state_dict allows;
// values of the wrong type or that break the Timestamp's invariants throw CheckpointError.
Timestamp timestamp_from_tree(const c10::IValue& tree, const std::string& path);

}  // namespace tempo
