#include "trainer/engine.h"

#include "state/state.h"

namespace tempo {

Engine::Engine(State& state, Logger& logger, std::vector<std::shared_ptr<Callback>> callbacks)
    : state_(state), logger_(logger), callbacks_(std::move(callbacks)) {}

void Engine::run_event(Event event) {
  logger_.set_step(state_.timestamp.batch());
  if (event == Event::INIT) {
    for (auto& destination : logger_.destinations()) destination->run_event(event, state_, logger_);
    for (auto& callback : callbacks_) callback->run_event(event, state_, logger_);
    return;
  }
  for (auto& callback : callbacks_) callback->run_event(event, state_, logger_);
  for (auto& destination : logger_.destinations()) destination->run_event(event, state_, logger_);
}

}  // namespace tempo
