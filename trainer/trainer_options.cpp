#include "tempo/trainer/trainer_options.h"

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

void check_trainer_max_duration(const Time& duration) {
  check_max_duration(duration);
  // Timestamps count tokens, but the trainer is given none (tempo's data loaders report none):
  // a run in tokens would never end.
  if (duration.unit() == TimeUnit::TOKEN) {
    throw TimeError(fmt::format("max_duration cannot be in tokens (got {}): tempo's data loaders do not count "
                                "them; use ep, ba or sp",
                                to_string(duration)));
  }
}

TrainerOptions& TrainerOptions::max_duration(const Time& duration) {
  check_trainer_max_duration(duration);
  max_duration_ = duration;
  return *this;
}

}  // namespace tempo
