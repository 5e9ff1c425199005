#include "tempo/callbacks/callback.h"

#include <c10/util/Type.h>

namespace tempo {

std::string Callback::name() const {
  if (!name_.empty()) return name_;
  auto full = c10::demangle(typeid(*this).name());
  // "tempo::CheckpointSaver" -> "CheckpointSaver", as Composer keys by __qualname__.
  auto pos = full.rfind("::");
  return pos == std::string::npos ? full : full.substr(pos + 2);
}

void Callback::run_event(Event event, State& state, Logger& logger) {
  on_event(event, state, logger);
  switch (event) {
    case Event::INIT: return on_init(state, logger);
    case Event::BEFORE_LOAD: return on_before_load(state, logger);
    case Event::AFTER_LOAD: return on_after_load(state, logger);
    case Event::FIT_START: return on_fit_start(state, logger);
    case Event::ITERATION_START: return on_iteration_start(state, logger);
    case Event::EPOCH_START: return on_epoch_start(state, logger);
    case Event::BEFORE_DATALOADER: return on_before_dataloader(state, logger);
    case Event::AFTER_DATALOADER: return on_after_dataloader(state, logger);
    case Event::BATCH_START: return on_batch_start(state, logger);
    case Event::BEFORE_TRAIN_BATCH: return on_before_train_batch(state, logger);
    case Event::BEFORE_FORWARD: return on_before_forward(state, logger);
    case Event::AFTER_FORWARD: return on_after_forward(state, logger);
    case Event::BEFORE_LOSS: return on_before_loss(state, logger);
    case Event::AFTER_LOSS: return on_after_loss(state, logger);
    case Event::BEFORE_BACKWARD: return on_before_backward(state, logger);
    case Event::AFTER_BACKWARD: return on_after_backward(state, logger);
    case Event::AFTER_TRAIN_BATCH: return on_after_train_batch(state, logger);
    case Event::BATCH_END: return on_batch_end(state, logger);
    case Event::BATCH_CHECKPOINT: return on_batch_checkpoint(state, logger);
    case Event::EPOCH_END: return on_epoch_end(state, logger);
    case Event::EPOCH_CHECKPOINT: return on_epoch_checkpoint(state, logger);
    case Event::ITERATION_END: return on_iteration_end(state, logger);
    case Event::ITERATION_CHECKPOINT: return on_iteration_checkpoint(state, logger);
    case Event::FIT_END: return on_fit_end(state, logger);
    case Event::EVAL_BEFORE_ALL: return on_eval_before_all(state, logger);
    case Event::EVAL_START: return on_eval_start(state, logger);
    case Event::EVAL_BATCH_START: return on_eval_batch_start(state, logger);
    case Event::EVAL_BEFORE_FORWARD: return on_eval_before_forward(state, logger);
    case Event::EVAL_AFTER_FORWARD: return on_eval_after_forward(state, logger);
    case Event::EVAL_BATCH_END: return on_eval_batch_end(state, logger);
    case Event::EVAL_END: return on_eval_end(state, logger);
    case Event::EVAL_AFTER_ALL: return on_eval_after_all(state, logger);
    case Event::EVAL_STANDALONE_START: return on_eval_standalone_start(state, logger);
    case Event::EVAL_STANDALONE_END: return on_eval_standalone_end(state, logger);
    case Event::PREDICT_START: return on_predict_start(state, logger);
    case Event::PREDICT_BATCH_START: return on_predict_batch_start(state, logger);
    case Event::PREDICT_BEFORE_FORWARD: return on_predict_before_forward(state, logger);
    case Event::PREDICT_AFTER_FORWARD: return on_predict_after_forward(state, logger);
    case Event::PREDICT_BATCH_END: return on_predict_batch_end(state, logger);
    case Event::PREDICT_END: return on_predict_end(state, logger);
  }
}

}  // namespace tempo
