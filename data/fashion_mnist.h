// Loads Fashion-MNIST from the IDX files that Debian's dataset-fashion-mnist package installs
// ({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz) into a TensorDataset on the CPU.
// Invariants of the result: input float32 [N, 1, 28, 28] normalised as ((x / 255) - 0.2860) /
// 0.3530 (the training set's mean and std); target int64 [N] with values in [0, 9]; N is 60000 for
// TRAIN and 10000 for TEST in the real data set (not enforced, so subsets in the same format load).
// Throws: DataError naming the file and what is wrong (missing, with the apt-get command that
// installs it; wrong magic; not 28x28; image and label counts differ; truncated; label > 9).
#pragma once

#include <torch/arg.h>

#include <memory>
#include <string>

#include "tempo/data/dataset.h"

namespace tempo {

inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;

enum class Split { TRAIN, TEST };
std::string to_string(Split split);  // "train", "test"

struct FashionMnistOptions {
  // The folder of the IDX files.
  TORCH_ARG(std::string, dir) = kFashionMnistDir;
  TORCH_ARG(Split, split) = Split::TRAIN;
};

std::shared_ptr<TensorDataset> load_fashion_mnist(const std::string& dir, Split split);
inline std::shared_ptr<TensorDataset> load_fashion_mnist(Split split) {
  return load_fashion_mnist(kFashionMnistDir, split);
}
inline std::shared_ptr<TensorDataset> load_fashion_mnist(const FashionMnistOptions& options) {
  return load_fashion_mnist(options.dir(), options.split());
}

}  // namespace tempo
