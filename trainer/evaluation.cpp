// The Trainer's evaluation: Composer's evaluation loop over each evaluator due at an event (the
// contract is in trainer.h). With several ranks each evaluates its shard and the metrics are
// summed over ranks before they are logged or judged.
#include <torch/torch.h>

#include <optional>

#include "tempo/data/batch_prefetcher.h"
#include "tempo/data/data_loader.h"
#include "tempo/state/model.h"
#include "tempo/trainer/engine.h"
#include "tempo/trainer/rank_sync.h"
#include "tempo/trainer/trainer.h"

namespace tempo {

void Trainer::run_evaluators(Event event) {
  std::vector<size_t> due;
  for (size_t i = 0; i < evaluators_.size(); ++i) {
    if (eval_schedules_[i](*state_, event)) due.push_back(i);
  }
  if (due.empty()) return;
  engine_->run_event(Event::EVAL_BEFORE_ALL);
  for (auto i : due) eval_loop(evaluators_[i]);
  engine_->run_event(Event::EVAL_AFTER_ALL);
}

void Trainer::eval_loop(Evaluator& evaluator) {
  auto& state = *state_;
  auto& loader = *evaluator.dataloader;
  const auto saved_batch = state.batch;
  const auto saved_outputs = state.outputs;
  const auto saved_label = state.dataloader_label;
  state.dataloader_label = evaluator.label;
  engine_->run_event(Event::EVAL_START);
  state.model->eval();
  int64_t num_batches = loader.num_batches();
  if (evaluator.subset_num_batches >= 0) num_batches = std::min(num_batches, evaluator.subset_num_batches);

  auto& metrics = state.eval_metrics.at(evaluator.label);
  for (auto& [name, metric] : metrics) metric->reset();
  bool interrupted = false;
  {
    torch::NoGradGuard no_grad;
    std::optional<BatchPrefetcher> prefetcher;
    if (prefetch_pays(loader)) prefetcher.emplace(loader, std::make_pair(int64_t{0}, num_batches));
    for (int64_t k = 0; k < num_batches; ++k) {
      // A stop signal ends the evaluation at its next batch: a preempted job has seconds. With
      // several ranks they agree on it at each batch (each has as many: the sampler pads), so
      // a signal that reached one rank ends every rank's evaluation at the same batch.
      if (state.comm && !stopped_by_signal_) poll_stop_signal();
      if ((interrupted = signal_pending())) break;
      engine_->run_event(Event::EVAL_BATCH_START);
      std::optional<std::pair<int64_t, int64_t>> next;
      if (k + 1 < num_batches) next = std::make_pair(int64_t{0}, k + 1);
      state.batch = (prefetcher ? prefetcher->get(0, k, next) : loader.batch(0, k)).to(state.device);
      engine_->run_event(Event::EVAL_BEFORE_FORWARD);
      state.outputs = state.model->forward(state.batch.input);
      engine_->run_event(Event::EVAL_AFTER_FORWARD);
      for (auto& [name, metric] : metrics) metric->update(state.outputs, state.batch);
      engine_->run_event(Event::EVAL_BATCH_END);
    }
  }
  // An interrupted evaluation's metrics cover part of the data: they are neither logged nor
  // judged (no EVAL_END, so no best checkpoint or early stop from them).
  if (!interrupted) {
    reduce_metrics(state, metrics, "the '" + evaluator.label + "' evaluation's metrics");
    logger_->log_metric_values(evaluator.label, metrics);
    engine_->run_event(Event::EVAL_END);
  }
  state.model->train();
  state.dataloader_label = saved_label;
  state.batch = saved_batch;
  state.outputs = saved_outputs;
}

void Trainer::eval() {
  engine_->run_event(Event::EVAL_STANDALONE_START);
  for (auto& evaluator : evaluators_) eval_loop(evaluator);
  engine_->run_event(Event::EVAL_STANDALONE_END);
}

}  // namespace tempo
