// Anything whose state survives a checkpoint: callbacks, schedulers, loggers with memory.
// state_dict() returns a tree (see state/tree.h) or None when there is nothing to keep;
// load_state_dict() takes back exactly what state_dict() produced and throws CheckpointError
// when the tree does not fit.
#pragma once

#include <ATen/core/ivalue.h>

namespace tempo {

class Stateful {
 public:
  virtual ~Stateful() = default;
  virtual c10::IValue state_dict() const { return c10::IValue(); }
  virtual void load_state_dict(const c10::IValue& /*state*/) {}
};

}  // namespace tempo
