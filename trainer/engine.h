// Fires events: each callback in the order the user gave them, then the logger destinations
// (at INIT the destinations go first, so they are ready before any callback logs), as
// Composer's Engine does. Before each event it points the logger at the current batch count.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/logger.h"

namespace tempo {

class State;

class Engine {
 public:
  Engine(State& state, Logger& logger, std::vector<std::shared_ptr<Callback>> callbacks);

  void run_event(Event event);
  // Composer's Engine.close(): closes every callback, then every logger destination, even when
  // one throws; returns each failure as a line naming the callback (for the caller to report),
  // never throws.
  std::vector<std::string> close();

  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }

 private:
  State& state_;
  Logger& logger_;
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

}  // namespace tempo
