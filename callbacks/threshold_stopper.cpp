#include "tempo/callbacks/threshold_stopper.h"

#include <fmt/format.h>

#include "tempo/state/state.h"

namespace tempo {

ThresholdStopper::ThresholdStopper(std::string monitor, std::string dataloader_label, double threshold,
                                   std::string comparator, bool stop_on_batch)
    : ThresholdStopper(ThresholdStopperOptions(std::move(monitor), std::move(dataloader_label), threshold)
                           .comparator(std::move(comparator))
                           .stop_on_batch(stop_on_batch)) {}

ThresholdStopper::ThresholdStopper(ThresholdStopperOptions options)
    : monitor_(options.monitor(), options.dataloader_label(), options.comparator(), "ThresholdStopper"),
      threshold_(options.threshold()),
      stop_on_batch_(options.stop_on_batch()) {}

void ThresholdStopper::on_eval_end(State& state, Logger&) {
  if (state.dataloader_label == monitor_.dataloader_label()) check(state);
}
void ThresholdStopper::on_epoch_end(State& state, Logger&) {
  if (state.dataloader_label == monitor_.dataloader_label()) check(state);
}
void ThresholdStopper::on_batch_end(State& state, Logger&) {
  if (stop_on_batch_ && state.dataloader_label == monitor_.dataloader_label()) check(state);
}

void ThresholdStopper::check(State& state) {
  const double value = monitor_.value(state);
  if (monitor_.better(value, threshold_)) {
    state.request_stop(fmt::format("ThresholdStopper: {} of '{}' is {}, {} than {}", monitor_.monitor(),
                                   monitor_.dataloader_label(), value, monitor_.greater() ? "greater" : "less",
                                   threshold_));
  }
}

}  // namespace tempo
