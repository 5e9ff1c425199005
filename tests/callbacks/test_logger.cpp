#include <doctest/doctest.h>

#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Keeps every record and every event it sees, to check what the trainer logs and when.
class RecordingDestination : public LoggerDestination {
 public:
  std::vector<std::pair<int64_t, Metrics>> metrics;
  Hyperparameters hyperparameters;
  std::vector<std::string> events;

  void log_metrics(const Metrics& m, int64_t step) override { metrics.emplace_back(step, m); }
  void log_hyperparameters(const Hyperparameters& h) override { hyperparameters.insert(h.begin(), h.end()); }

 protected:
  void on_event(Event event, State&, Logger&) override { events.push_back(to_string(event)); }
};

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("logger destinations get the loss of every batch, the seed, and every event after the callbacks") {
    auto destination = std::make_shared<RecordingDestination>();
    auto recorder = std::make_shared<EventRecorder>();
    torch::manual_seed(0);
    auto model = std::make_shared<TinyNet>();
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    Trainer trainer(TrainerOptions()
                        .model(model)
                        .train_dataloader(loader(blobs(8), 4))
                        .optimizers({optimizer})
                        .callbacks({recorder})
                        .loggers({destination})
                        .max_duration("2ba")
                        .seed(5)
                        .run_name("logged"));
    trainer.fit();

    CHECK(destination->hyperparameters.at("rank_zero_seed") == "5");
    CHECK(destination->hyperparameters.at("run_name") == "logged");
    std::vector<int64_t> loss_steps;
    for (const auto& [step, m] : destination->metrics) {
      if (m.count("loss/train/total")) loss_steps.push_back(step);
    }
    // Logged while the timestamp still counts the batch being trained, as Composer does.
    CHECK(loss_steps == std::vector<int64_t>{0, 1});
    CHECK(destination->events == recorder->events);
    CHECK(trainer.state().callback_states().size() == 2);  // the recorder and the destination
  }
}
