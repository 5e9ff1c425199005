// The interface users subclass to react to training events. The trainer calls the non-virtual
// run_event(), which dispatches to one protected hook per event (on_fit_start, on_batch_end...),
// all empty by default, so a mistyped hook is a compile error through `override`. on_event()
// runs before the specific hook, for callbacks that want every event. close() (Composer's
// Callback.close) is not an event: the trainer calls it once at the end of every fit(), after
// FIT_END or after fit() failed, so a callback releases what it holds (threads, files) whatever
// happened; an exception from it is reported as a warning, never replaces fit()'s own error, and
// does not keep the other callbacks from closing. A callback stays usable by a later fit().
//
// Resumable state goes through Stateful (state_dict / load_state_dict) and is saved under the
// callback's instance key (its name(), made unique per run). A callback never keeps a reference
// to State between events; to end a run it calls state.request_stop(reason). One that changes
// parameters or optimizer state in place (outside the optimizer step) first calls
// state.checkpoint_copy.wait(): save_async may still be copying them (state/copy_fence.h).
#pragma once

#include <string>

#include "tempo/callbacks/event.h"
#include "tempo/state/stateful.h"

namespace tempo {

class State;
class Logger;

class Callback : public Stateful {
 public:
  ~Callback() override = default;

  void run_event(Event event, State& state, Logger& logger);
  // Runs on_close(); see above.
  void close(State& state, Logger& logger) { on_close(state, logger); }

  // The key this callback's state is saved under: the class name unless set_name() chose one.
  virtual std::string name() const;
  void set_name(std::string name) { name_ = std::move(name); }

 protected:
  virtual void on_event(Event, State&, Logger&) {}

  virtual void on_init(State&, Logger&) {}
  virtual void on_before_load(State&, Logger&) {}
  virtual void on_after_load(State&, Logger&) {}
  virtual void on_fit_start(State&, Logger&) {}
  virtual void on_iteration_start(State&, Logger&) {}
  virtual void on_epoch_start(State&, Logger&) {}
  virtual void on_before_dataloader(State&, Logger&) {}
  virtual void on_after_dataloader(State&, Logger&) {}
  virtual void on_batch_start(State&, Logger&) {}
  virtual void on_before_train_batch(State&, Logger&) {}
  virtual void on_before_forward(State&, Logger&) {}
  virtual void on_after_forward(State&, Logger&) {}
  virtual void on_before_loss(State&, Logger&) {}
  virtual void on_after_loss(State&, Logger&) {}
  virtual void on_before_backward(State&, Logger&) {}
  virtual void on_after_backward(State&, Logger&) {}
  virtual void on_after_train_batch(State&, Logger&) {}
  virtual void on_batch_end(State&, Logger&) {}
  virtual void on_batch_checkpoint(State&, Logger&) {}
  virtual void on_epoch_end(State&, Logger&) {}
  virtual void on_epoch_checkpoint(State&, Logger&) {}
  virtual void on_iteration_end(State&, Logger&) {}
  virtual void on_iteration_checkpoint(State&, Logger&) {}
  virtual void on_fit_end(State&, Logger&) {}
  virtual void on_eval_before_all(State&, Logger&) {}
  virtual void on_eval_start(State&, Logger&) {}
  virtual void on_eval_batch_start(State&, Logger&) {}
  virtual void on_eval_before_forward(State&, Logger&) {}
  virtual void on_eval_after_forward(State&, Logger&) {}
  virtual void on_eval_batch_end(State&, Logger&) {}
  virtual void on_eval_end(State&, Logger&) {}
  virtual void on_eval_after_all(State&, Logger&) {}
  virtual void on_eval_standalone_start(State&, Logger&) {}
  virtual void on_eval_standalone_end(State&, Logger&) {}
  virtual void on_predict_start(State&, Logger&) {}
  virtual void on_predict_batch_start(State&, Logger&) {}
  virtual void on_predict_before_forward(State&, Logger&) {}
  virtual void on_predict_after_forward(State&, Logger&) {}
  virtual void on_predict_batch_end(State&, Logger&) {}
  virtual void on_predict_end(State&, Logger&) {}
  // At the end of every fit(), even a failed one (state may be mid-batch then).
  virtual void on_close(State&, Logger&) {}

 private:
  std::string name_;
};

}  // namespace tempo
