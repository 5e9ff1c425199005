#include "tempo/trainer/trainer_options.h"

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

void check_trainer_max_duration(const Time& duration, bool counts_tokens) {
  check_max_duration(duration);
  // A training set that reports no tokens would leave Timestamp.token at 0: the run would never end.
  if (duration.unit() == TimeUnit::TOKEN && !counts_tokens) {
    throw TimeError(fmt::format("max_duration cannot be in tokens (got {}): the training data set counts none "
                                "(only token data such as text_tokens does); use ep, ba or sp",
                                to_string(duration)));
  }
}

TrainerOptions& TrainerOptions::max_duration(const Time& duration) {
  check_trainer_max_duration(duration, true);  // the loader is checked when the Trainer is built
  max_duration_ = duration;
  return *this;
}

}  // namespace tempo
