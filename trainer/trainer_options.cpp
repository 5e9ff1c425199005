#include "trainer/trainer_options.h"

namespace tempo {

TrainerOptions& TrainerOptions::max_duration(const Time& duration) {
  check_max_duration(duration);
  max_duration_ = duration;
  return *this;
}

}  // namespace tempo
