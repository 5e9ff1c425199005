// Trains a few batches through the installed headers and library; exits 0 on success.
#include <tempo/data/data_loader.h>
#include <tempo/data/dataset.h>
#include <tempo/state/model.h>
#include <tempo/time/time_quantity.h>
#include <torch/torch.h>
#include <tempo/trainer/trainer.h>

#include <iostream>

struct Linear : tempo::Model {
  Linear() : fc(register_module("fc", torch::nn::Linear(4, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return fc(x); }
  torch::nn::Linear fc;
};

int main() {
  auto data = std::make_shared<tempo::TensorDataset>(torch::randn({16, 4}), torch::randint(0, 2, {16}));
  auto model = std::make_shared<Linear>();
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  tempo::Trainer trainer(tempo::TrainerOptions()
                             .model(model)
                             .train_dataloader(std::make_shared<tempo::DataLoader>(
                                 data, tempo::DataLoaderOptions().batch_size(4)))
                             .optimizers({optimizer})
                             .max_duration("3ba")
                             .seed(1));
  trainer.fit();
  std::cout << "consumer trained to " << tempo::to_string(trainer.state().timestamp.get(tempo::TimeUnit::BATCH))
            << std::endl;
  return trainer.state().timestamp.batch() == 3 ? 0 : 1;
}
