// A program with its own data set that keeps tempo's whole command line: one line registers the
// Dataset as a config part, which then takes every loader key (batch_size, shuffle, num_workers,
// transforms, ...) beside its own, and the program hands over to tempo::cli::main.
//   custom_dataset_cli train examples/custom_dataset_cli.yaml
//   custom_dataset_cli train examples/custom_dataset_cli.yaml train_loader.stripes.num_workers=2
#include <torch/torch.h>

#include "tempo/cli/main.h"
#include "tempo/configs/dataset_source.h"

namespace {

// 1x12x12 images of a horizontal (class 0) or vertical (class 1) stripe at a position drawn from
// `seed`, plus a little noise: random access, so any batch of any epoch can be read first.
class Stripes : public tempo::Dataset {
 public:
  Stripes(int64_t num_samples, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    target_ = torch::randint(0, 2, {num_samples}, gen, torch::kLong);
    const auto where = torch::randint(2, 10, {num_samples}, gen, torch::kLong);
    input_ = torch::randn({num_samples, 1, 12, 12}, gen) * 0.1;
    for (int64_t i = 0; i < num_samples; ++i) {
      const int64_t at = where[i].item<int64_t>();
      if (target_[i].item<int64_t>() == 0) input_[i][0][at] += 1.0;
      else input_[i].select(2, at) += 1.0;
    }
  }
  int64_t size() const override { return input_.size(0); }
  tempo::Batch get_batch(const std::vector<int64_t>& indices) const override {
    const auto index = torch::tensor(indices, torch::kLong);
    return {input_.index_select(0, index), target_.index_select(0, index)};
  }

 private:
  torch::Tensor input_;
  torch::Tensor target_;
};

}  // namespace

int main(int argc, char** argv) {
  tempo::config::add_dataset_source(tempo::config::registry(), "stripes", [](const tempo::config::Args& a) {
    return std::make_shared<Stripes>(a.get<int64_t>("num_samples"), a.get<uint64_t>("seed"));
  }, {{"num_samples", "int", "512", "Samples in the data set"}, {"seed", "uint", "0", "Seed of the data"}});
  return tempo::cli::main(argc, argv);
}
