#include "tempo/data/fashion_mnist.h"

#include "tempo/data/idx_file.h"
#include "tempo/errors/error.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace tempo {
namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kNumClasses = 10;

// The directory comes from the user or a config, so a missing file is the common failure: say how
// to get it rather than only that it is not there.
std::string existing_file(const std::string& dir, const std::string& name) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw DataError(path + ": Fashion-MNIST file not found (install it with: apt-get install "
                    "dataset-fashion-mnist, or point the dataset's dir at a folder holding it)");
  }
  return path;
}

}  // namespace

std::string to_string(Split split) { return split == Split::TRAIN ? "train" : "test"; }

std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::TRAIN ? "train" : "t10k";
  const std::string images_path = existing_file(dir, prefix + "-images-idx3-ubyte.gz");
  const std::string labels_path = existing_file(dir, prefix + "-labels-idx1-ubyte.gz");

  at::Tensor images = read_idx_ubyte(images_path, 3);
  if (images.size(1) != kSide || images.size(2) != kSide) {
    throw DataError(images_path + ": images are " + std::to_string(images.size(1)) + "x" +
                    std::to_string(images.size(2)) + ", expected 28x28");
  }
  at::Tensor labels = read_idx_ubyte(labels_path, 1);
  if (labels.size(0) != images.size(0)) {
    throw DataError(labels_path + ": holds " + std::to_string(labels.size(0)) + " labels but " +
                    images_path + " holds " + std::to_string(images.size(0)) +
                    " images; they must match");
  }
  const uint8_t* label = labels.data_ptr<uint8_t>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    if (label[i] >= kNumClasses) {
      throw DataError(labels_path + ": label " + std::to_string(label[i]) + " at sample " +
                      std::to_string(i) + " is outside [0, 9]");
    }
  }

  // (x / 255 - mean) / std folded into one scale and one shift.
  const double scale = 1.0 / (255.0 * kFashionMnistStd);
  const double shift = -kFashionMnistMean / kFashionMnistStd;
  at::Tensor input = images.unsqueeze(1).to(torch::kFloat32).mul_(scale).add_(shift);
  return std::make_shared<TensorDataset>(std::move(input), labels.to(torch::kInt64));
}

}  // namespace tempo
