// Training on shuffled, augmented images with loader worker threads: the number of workers
// changes nothing (bit-equal weights), and a run stopped mid-epoch resumes from its checkpoint to
// exactly the weights of the uninterrupted run (the transforms' draws are keyed by (seed, epoch,
// sample), restored with the run's seed; the workers start at the resumed batch).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "support/fixtures.h"
#include "support/temp_dir.h"

namespace {

using namespace tempo;
using namespace tempo::testing;

// Images [N, 1, 6, 6]; dropout draws from the CPU generator, so the RNG restore is tested too.
class ImageNet : public Model {
 public:
  ImageNet()
      : fc1(register_module("fc1", torch::nn::Linear(36, 16))),
        drop(register_module("drop", torch::nn::Dropout(0.1))),
        fc2(register_module("fc2", torch::nn::Linear(16, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return fc2(drop(torch::relu(fc1(x.flatten(1))))); }

  torch::nn::Linear fc1;
  torch::nn::Dropout drop;
  torch::nn::Linear fc2;
};

std::shared_ptr<TensorDataset> image_blobs(int64_t n) {
  auto gen = at::detail::createCPUGenerator(321);
  auto labels = torch::randint(0, 2, {n}, gen, torch::kLong);
  auto x = torch::randn({n, 1, 6, 6}, gen) + labels.to(torch::kFloat).view({n, 1, 1, 1});
  return std::make_shared<TensorDataset>(x, labels);
}

struct ImageRun {
  std::shared_ptr<ImageNet> model;
  std::shared_ptr<torch::optim::Adam> optimizer;
  std::unique_ptr<Trainer> trainer;
};

// `seed` and `init_seed` differ between a first run and its resumption, so that only the
// checkpoint can make them agree.
ImageRun image_run(const std::shared_ptr<Dataset>& data, int64_t workers, const std::string& max_duration,
                   uint64_t seed = 42, uint64_t init_seed = 7, const std::function<void(TrainerOptions&)>& configure = {}) {
  torch::manual_seed(init_seed);
  ImageRun run;
  run.model = std::make_shared<ImageNet>();
  run.optimizer = std::make_shared<torch::optim::Adam>(run.model->parameters(), torch::optim::AdamOptions(1e-2));
  auto loader_options = DataLoaderOptions()
                            .batch_size(4)
                            .shuffle(true)
                            .num_workers(workers)
                            .transforms({std::make_shared<RandomCrop>(RandomCropOptions().size(6).padding(1)),
                                         std::make_shared<HorizontalFlip>(HorizontalFlipOptions().p(0.5)),
                                         std::make_shared<Normalize>(NormalizeOptions().mean({0.5}).std({1.5}))});
  auto options = TrainerOptions()
                     .model(run.model)
                     .train_dataloader(std::make_shared<DataLoader>(data, loader_options))
                     .optimizers({run.optimizer})
                     .max_duration(max_duration)
                     .seed(seed)
                     .run_name("augmented");
  if (configure) configure(options);
  run.trainer = std::make_unique<Trainer>(options);
  return run;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("0, 1 and 2 loader workers train bit-identical weights on augmented data") {
    auto data = image_blobs(48);  // 12 batches per epoch
    auto none = image_run(data, 0, "2ep");
    none.trainer->fit();
    for (int64_t workers : {1, 2}) {
      CAPTURE(workers);
      auto run = image_run(data, workers, "2ep");
      run.trainer->fit();
      CHECK(bit_equal(weights(*none.model), weights(*run.model)));
      CHECK(bit_equal(adam_tensors(*none.optimizer), adam_tensors(*run.optimizer)));
    }
  }

  TEST_CASE("an augmented 2-worker run stopped mid-epoch resumes bit-exactly from its checkpoint") {
    auto data = image_blobs(50);  // 13 batches per epoch, the last short
    TempDir dir;
    auto first = image_run(data, 2, "20ba", 42, 7, [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("10ba"); });
    first.trainer->fit();  // stops at epoch 1, batch 7, its workers preparing batches after it
    first.trainer.reset();
    REQUIRE(std::filesystem::exists(dir / "ep1-ba20-rank0.pt"));

    auto full = image_run(data, 2, "3ep");
    full.trainer->fit();
    auto resumed = image_run(data, 2, "3ep", 5, 99, [&](TrainerOptions& o) { o.load_path(dir / "ep1-ba20-rank0.pt"); });
    CHECK(resumed.trainer->state().timestamp.batch_in_epoch() == 7);
    resumed.trainer->fit();
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*full.optimizer), adam_tensors(*resumed.optimizer)));
    // Not trivially: a run without the checkpoint, from these seeds, ends elsewhere.
    auto other = image_run(data, 2, "3ep", 5, 99);
    other.trainer->fit();
    CHECK_FALSE(bit_equal(weights(*full.model), weights(*other.model)));
  }
}
