#include "tempo/trainer/engine.h"

#include "tempo/state/state.h"

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

std::vector<std::string> Engine::close() {
  std::vector<std::string> failures;
  const auto close_one = [&](Callback& callback) {
    try {
      callback.close(state_, logger_);
    } catch (const std::exception& e) {
      failures.push_back(callback.name() + ".close(): " + e.what());
    } catch (...) {
      failures.push_back(callback.name() + ".close(): an exception that is not a std::exception");
    }
  };
  for (auto& callback : callbacks_) close_one(*callback);
  for (auto& destination : logger_.destinations()) close_one(*destination);
  return failures;
}

}  // namespace tempo
