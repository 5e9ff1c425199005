// A learning-rate scheduler the trainer steps once per batch, after the optimizer step and
// before the timestamp moves to the next batch, as Composer does. A scheduler that keeps state
// saves it through Stateful (under state/schedulers/<name()>); one that is a pure function of the
// timestamp (Composer's kind, optim/composer_scheduler.h) resumes exactly by construction.
//
// compile() is Composer's compile_composer_scheduler: the Trainer calls it once per scheduler in
// its constructor, after max_duration is scaled by scale_schedule_ratio and before any
// checkpoint is loaded. The default does nothing and throws ConfigError for a ratio other than 1,
// since a scheduler that does not know the ratio cannot honour it.
#pragma once

#include <string>

#include "tempo/errors/error.h"
#include "tempo/state/stateful.h"

namespace tempo {

class State;

class Scheduler : public Stateful {
 public:
  virtual void compile(const State& /*state*/, double scale_schedule_ratio) {
    if (scale_schedule_ratio != 1.0) {
      throw ConfigError("scheduler '" + name() + "' does not support scale_schedule_ratio (got " +
                        std::to_string(scale_schedule_ratio) + "); only Composer schedulers can be scaled");
    }
  }
  virtual void step(const State& state) = 0;
  // The key under state/schedulers; Composer uses the class name.
  virtual std::string name() const = 0;
};

}  // namespace tempo
