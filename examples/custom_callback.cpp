// Shows how to write a Callback: a plateau stopper that watches the training loss, keeps its
// memory in the checkpoint through state_dict()/load_state_dict(), and ends the run through
// state.request_stop() so that FIT_END and every other callback still run.
//
//   custom_callback [--data DIR]
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "tempo/callbacks/callback.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/errors/error.h"
#include "tempo/models/mlp.h"
#include "tempo/state/rng.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"
#include "tempo/trainer/trainer.h"

namespace {

// Stops training when the mean loss over `window` batches has not improved by `min_delta` for
// `patience` windows.
class LossPlateauStopper : public tempo::Callback {
 public:
  LossPlateauStopper(int64_t window, int64_t patience, double min_delta)
      : window_(window), patience_(patience), min_delta_(min_delta) {}

  c10::IValue state_dict() const override {
    auto dict = tempo::new_tree_dict();
    dict.insert("best", best_);
    dict.insert("bad_windows", bad_windows_);
    dict.insert("sum", sum_);
    dict.insert("count", count_);
    return dict;
  }
  void load_state_dict(const c10::IValue& tree) override {
    auto dict = tempo::tree_dict(tree, name());
    best_ = tempo::tree_double(dict, "best", name());
    bad_windows_ = tempo::tree_int(dict, "bad_windows", name());
    sum_ = tempo::tree_double(dict, "sum", name());
    count_ = tempo::tree_int(dict, "count", name());
  }

 protected:
  void on_batch_end(tempo::State& state, tempo::Logger& logger) override {
    sum_ += state.loss.item<double>();
    if (++count_ < window_) return;
    const double mean = sum_ / static_cast<double>(count_);
    sum_ = 0.0;
    count_ = 0;
    logger.log_metrics({{"plateau/mean_loss", mean}});
    std::printf("batch %5lld  mean loss over %lld batches: %.4f\n", static_cast<long long>(state.timestamp.batch()),
                static_cast<long long>(window_), mean);
    if (mean < best_ - min_delta_) {
      best_ = mean;
      bad_windows_ = 0;
    } else if (++bad_windows_ >= patience_) {
      state.request_stop("training loss has plateaued at " + std::to_string(best_));
    }
  }

  void on_fit_end(tempo::State& state, tempo::Logger&) override {
    std::printf("stopped at %s%s%s\n", tempo::to_string(state.timestamp).c_str(),
                state.stop_requested() ? ": " : "", state.stop_reason().c_str());
  }

 private:
  int64_t window_, patience_;
  double min_delta_;
  double best_ = 1e300;
  int64_t bad_windows_ = 0;
  double sum_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string dir = argc > 2 && std::string(argv[1]) == "--data" ? argv[2] : tempo::kFashionMnistDir;
    auto train = tempo::load_fashion_mnist(dir, tempo::Split::TRAIN);
    tempo::seed_all(3);
    auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({128}));
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05));
    tempo::Trainer trainer(tempo::TrainerOptions()
                               .model(model)
                               .train_dataloader(std::make_shared<tempo::DataLoader>(
                                   train, tempo::DataLoaderOptions().batch_size(64).shuffle(true)))
                               .optimizers({optimizer})
                               .callbacks({std::make_shared<LossPlateauStopper>(100, 2, 0.01)})
                               .max_duration("2ep")
                               .seed(3));
    trainer.fit();
    return 0;
  } catch (const tempo::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
