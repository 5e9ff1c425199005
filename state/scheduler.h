// A learning-rate scheduler the trainer steps once per batch, after the optimizer step, as
// Composer does. A scheduler that keeps state saves it through Stateful; one that is a pure
// function of the timestamp (Composer's kind) keeps none and resumes exactly by construction.
#pragma once

#include <string>

#include "state/stateful.h"

namespace tempo {

class State;

class Scheduler : public Stateful {
 public:
  virtual void step(const State& state) = 0;
  // The key under state/schedulers; Composer uses the class name.
  virtual std::string name() const = 0;
};

}  // namespace tempo
