// Trains an MLP on Fashion-MNIST (Debian's dataset-fashion-mnist) with tempo's Trainer, reports
// the test accuracy after every epoch, and with --save-folder saves a checkpoint every epoch.
//
//   train_fashion_mnist [--epochs N] [--batch-size B] [--lr LR] [--seed S] [--data DIR]
//                       [--save-folder DIR] [--autoresume] [--overwrite] [--min-accuracy A]
// With --autoresume a second invocation continues the run from its newest checkpoint (to a
// larger --epochs, or not at all when it is finished). Exits 1 when the final test accuracy is
// below --min-accuracy, 2 on bad input.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "tempo/callbacks/callback.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/errors/error.h"
#include "tempo/models/mlp.h"
#include "tempo/state/rng.h"
#include "tempo/state/state.h"
#include "tempo/trainer/trainer.h"

namespace {

// Prints one line per epoch: the last batch's loss and accuracy, the test metrics and the epoch's time.
class EpochReport : public tempo::Callback {
 protected:
  void on_epoch_end(tempo::State& state, tempo::Logger&) override {
    std::printf("epoch %lld  train loss %.4f  train accuracy %.4f  (%.1f s)\n",
                static_cast<long long>(state.timestamp.epoch()), state.loss.item<double>(),
                state.train_metrics.at("Accuracy")->compute(), state.previous_timestamp->epoch_wct());
  }
  void on_eval_end(tempo::State& state, tempo::Logger&) override {
    const auto& metrics = state.eval_metrics["eval"];
    std::printf("          test loss %.4f  test accuracy %.4f\n", metrics.at("CrossEntropy")->compute(),
                metrics.at("Accuracy")->compute());
    std::fflush(stdout);
  }
};

struct Args {
  int64_t epochs = 1;
  int64_t batch_size = 128;
  double lr = 1e-3;
  uint64_t seed = 17;
  std::string data = tempo::kFashionMnistDir;
  double min_accuracy = 0.0;
  std::string save_folder;
  bool autoresume = false;
  bool overwrite = false;
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--autoresume" || flag == "--overwrite") {
      (flag == "--autoresume" ? args.autoresume : args.overwrite) = true;
      continue;
    }
    if (i + 1 >= argc) throw tempo::ConfigError("option " + flag + " needs a value");
    const std::string value = argv[++i];
    try {
      if (flag == "--epochs") args.epochs = std::stoll(value);
      else if (flag == "--batch-size") args.batch_size = std::stoll(value);
      else if (flag == "--lr") args.lr = std::stod(value);
      else if (flag == "--seed") args.seed = std::stoull(value);
      else if (flag == "--data") args.data = value;
      else if (flag == "--min-accuracy") args.min_accuracy = std::stod(value);
      else if (flag == "--save-folder") args.save_folder = value;
      else throw tempo::ConfigError("unknown option " + flag);
    } catch (const std::logic_error&) {
      throw tempo::ConfigError("option " + flag + ": '" + value + "' is not a number");
    }
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto args = parse_args(argc, argv);
    auto train = tempo::load_fashion_mnist(args.data, tempo::Split::TRAIN);
    auto test = tempo::load_fashion_mnist(args.data, tempo::Split::TEST);

    tempo::seed_all(args.seed);  // before the model exists, so its initial weights are seeded too
    auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({256}));
    auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(args.lr));
    tempo::Trainer trainer(
        tempo::TrainerOptions()
            .model(model)
            .train_dataloader(std::make_shared<tempo::DataLoader>(
                train, tempo::DataLoaderOptions().batch_size(args.batch_size).shuffle(true)))
            .eval_dataloader(std::make_shared<tempo::DataLoader>(
                test, tempo::DataLoaderOptions().batch_size(1000).shuffle(false)))
            .optimizers({optimizer})
            .callbacks({std::make_shared<EpochReport>()})
            .max_duration(tempo::Time(args.epochs, tempo::TimeUnit::EPOCH))
            .seed(args.seed)
            .run_name("fashion-mnist-mlp")
            .save_folder(args.save_folder)
            .save_overwrite(args.overwrite)
            .autoresume(args.autoresume)
            .save_metrics(true));
    if (!trainer.resumed_from().empty()) std::printf("resumed from %s\n", trainer.resumed_from().c_str());
    trainer.fit();
    for (const auto& path : trainer.saved_checkpoints()) std::printf("checkpoint: %s\n", path.c_str());

    // Kept in the checkpoints (save_metrics), so a finished run resumed with --autoresume still knows it.
    const double accuracy = trainer.state().eval_metrics.at("eval").at("Accuracy")->compute();
    std::printf("test accuracy: %.4f after %s\n", accuracy, tempo::to_string(trainer.state().timestamp).c_str());
    if (args.min_accuracy > 0 && !(accuracy >= args.min_accuracy)) {  // NaN (never evaluated) fails too
      std::fprintf(stderr, "test accuracy %.4f is below the required %.4f\n", accuracy, args.min_accuracy);
      return 1;
    }
    return 0;
  } catch (const tempo::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
