// A Timestamp as a state-tree entry, in the form Composer's State.state_dict() gives it:
//   {"Timestamp": {iteration, epoch, batch, sample, token, epoch_in_iteration, token_in_iteration,
//                  batch_in_epoch, sample_in_epoch, token_in_epoch},          (ints)
//    "wct_seconds": {total_wct, iteration_wct, epoch_wct, batch_wct}}      (float seconds)
// Composer pickles the wall-clock fields inside "Timestamp" as datetime.timedelta, which torch's
// weights_only loader refuses, and a float there breaks Composer's fit() (it adds timedeltas to
// it). So tempo keeps them as floats beside "Timestamp", a key Composer's load passes over: a
// tempo file opens with torch.load's defaults and resumes in Composer (whose wall clocks then
// restart at 0).
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

#include "tempo/time/timestamp.h"

namespace tempo {

c10::IValue timestamp_to_tree(const Timestamp& timestamp);
// Reads the form above, Composer's own (the wall clocks inside "Timestamp", as the seconds the
// reader made of its timedeltas) and older tempo files' flat dict of all 14 keys. Missing
// counters default to 0, as Composer's load_state_dict allows; values of the wrong type or that
// break the Timestamp's invariants throw CheckpointError naming the key.
Timestamp timestamp_from_tree(const c10::IValue& tree, const std::string& path);

}  // namespace tempo
