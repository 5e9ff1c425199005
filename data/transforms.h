// Per-sample transforms of a batch's input images, applied by the DataLoader after get_batch, with
// randomness that is a pure function of where the sample is used: sample `index` of `epoch`, at
// position `position` of the loader's transform list, draws from its own generator seeded by
// sample_seed(loader seed, epoch, index, position). The global generator is never touched, so a
// batch is the same whichever thread prepares it and in whatever order, and a resumed run augments
// exactly as the uninterrupted one did. The generator is tempo's own (splitmix64), not torch's or
// torchvision's: the same seed gives other crops than torchvision, on every LibTorch version alike.
// Images: [N, C, H, W] or [N, H, W] (one channel), any dtype for random_crop and horizontal_flip,
// floating point for normalize, on the CPU. The input tensor is never written: each transform
// returns a new tensor (a dataset may hand out views of its storage).
// Throws: ConfigError from the constructors for bad options (size < 1, padding < 0, p outside
// [0, 1], empty mean, std <= 0 or a std/mean length mismatch); DataError from apply() naming the
// transform and the shape, dtype or device it cannot take.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tempo {

// The seed of sample `index` of `epoch` for the transform at `position` of the list.
uint64_t sample_seed(uint64_t loader_seed, int64_t epoch, int64_t index, int64_t position);

// A small, fast generator (splitmix64) for one sample's draws.
class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, 1), 53 random bits.
  double uniform();
  // Uniform in [0, n), n >= 1.
  int64_t below(int64_t n);

 private:
  uint64_t state_;
};

// One transform of a list. Subclasses implement apply() for images [N, C, H, W] (contiguous, CPU;
// the loader makes [N, H, W] into [N, 1, H, W] and back) and return a new tensor.
class Transform {
 public:
  virtual ~Transform();
  // The YAML name ("random_crop"), used in messages.
  virtual std::string name() const = 0;
  // The transform as one line of YAML ("{random_crop: {size: 28, padding: 4}}").
  virtual std::string yaml() const { return "{" + name() + ": {}}"; }
  // `seeds[i]` is the seed of sample i (sample_seed()); seeds.size() == images.size(0).
  virtual at::Tensor apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const = 0;
};
using TransformList = std::vector<std::shared_ptr<const Transform>>;

// torchvision's RandomCrop(size, padding) with zero fill: pads each side by `padding`, then cuts a
// size x size window at a uniformly drawn offset. Output [N, C, size, size].
struct RandomCropOptions {
  TORCH_ARG(int64_t, size) = 28;
  TORCH_ARG(int64_t, padding) = 0;
};
class RandomCrop : public Transform {
 public:
  explicit RandomCrop(RandomCropOptions options);
  std::string name() const override { return "random_crop"; }
  std::string yaml() const override;
  at::Tensor apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const override;
  const RandomCropOptions& options() const { return options_; }

 private:
  RandomCropOptions options_;
};

// torchvision's RandomHorizontalFlip(p): mirrors the width axis with probability p.
struct HorizontalFlipOptions {
  TORCH_ARG(double, p) = 0.5;
};
class HorizontalFlip : public Transform {
 public:
  explicit HorizontalFlip(HorizontalFlipOptions options);
  std::string name() const override { return "horizontal_flip"; }
  std::string yaml() const override;
  at::Tensor apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const override;
  const HorizontalFlipOptions& options() const { return options_; }

 private:
  HorizontalFlipOptions options_;
};

// torchvision's Normalize(mean, std): channel c becomes (x - mean[c]) / std[c]. One value stands
// for every channel; otherwise there is one per channel. No randomness.
struct NormalizeOptions {
  TORCH_ARG(std::vector<double>, mean) = {0.0};
  TORCH_ARG(std::vector<double>, std) = {1.0};
};
class Normalize : public Transform {
 public:
  explicit Normalize(NormalizeOptions options);
  std::string name() const override { return "normalize"; }
  std::string yaml() const override;
  at::Tensor apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const override;
  const NormalizeOptions& options() const { return options_; }

 private:
  NormalizeOptions options_;
};

// `input` (the batch's, [N, C, H, W] or [N, H, W]) through `transforms` in order, sample i being
// dataset sample indices[i] of `epoch`. Returns `input` itself when the list is empty.
at::Tensor apply_transforms(const TransformList& transforms, const at::Tensor& input, uint64_t loader_seed,
                            int64_t epoch, const std::vector<int64_t>& indices);

}  // namespace tempo
