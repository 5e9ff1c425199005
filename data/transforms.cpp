#include "tempo/data/transforms.h"

#include <ATen/Dispatch.h>
#include <ATen/Functions.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string shape_of(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::string list(const std::vector<double>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}

// The images as a contiguous [N, C, H, W] CPU tensor; `name` is the transform's, for messages.
at::Tensor checked_images(const at::Tensor& images, const std::string& name) {
  if (!images.defined() || images.dim() != 4) {
    throw DataError(fmt::format("{}: expected images [N, C, H, W] or [N, H, W], got shape {}", name,
                                images.defined() ? shape_of(images) : std::string("(undefined)")));
  }
  if (!images.device().is_cpu()) {
    throw DataError(fmt::format("{}: expected images on the CPU (transforms run in the loader), got {}", name,
                                images.device().str()));
  }
  return images.contiguous();
}

void check_seeds(const at::Tensor& images, const std::vector<uint64_t>& seeds, const std::string& name) {
  if (static_cast<int64_t>(seeds.size()) != images.size(0)) {
    throw DataError(fmt::format("{}: {} seeds for {} samples", name, seeds.size(), images.size(0)));
  }
}

// Copies row `in` (w elements) into `out` mirrored, element by element of `T`'s size.
template <typename T>
void mirror_rows(const char* in, char* out, int64_t rows, int64_t w) {
  const T* src = reinterpret_cast<const T*>(in);
  T* dst = reinterpret_cast<T*>(out);
  for (int64_t r = 0; r < rows; ++r, src += w, dst += w) {
    for (int64_t x = 0; x < w; ++x) dst[x] = src[w - 1 - x];
  }
}

}  // namespace

uint64_t sample_seed(uint64_t loader_seed, int64_t epoch, int64_t index, int64_t position) {
  // Each field goes through the mixer before the next is folded in, so neighbouring (epoch, index)
  // pairs get unrelated seeds.
  uint64_t h = mix(loader_seed ^ 0x74656d706f2d7478ULL);  // "tempo-tx"
  h = mix(h ^ static_cast<uint64_t>(epoch));
  h = mix(h ^ static_cast<uint64_t>(index));
  return mix(h ^ static_cast<uint64_t>(position));
}

uint64_t SampleRng::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix(state_);
}

double SampleRng::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

int64_t SampleRng::below(int64_t n) {
  // Rejection keeps the draw exactly uniform; n is small, so the loop almost never repeats.
  const uint64_t range = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t r;
  do {
    r = next();
  } while (r >= limit);
  return static_cast<int64_t>(r % range);
}

Transform::~Transform() = default;

RandomCrop::RandomCrop(RandomCropOptions options) : options_(options) {
  if (options_.size() < 1) throw ConfigError(fmt::format("random_crop: size must be >= 1, got {}", options_.size()));
  if (options_.padding() < 0) {
    throw ConfigError(fmt::format("random_crop: padding must be >= 0, got {}", options_.padding()));
  }
}

std::string RandomCrop::yaml() const {
  return fmt::format("{{random_crop: {{size: {}, padding: {}}}}}", options_.size(), options_.padding());
}

at::Tensor RandomCrop::apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const {
  const auto in = checked_images(images, name());
  check_seeds(in, seeds, name());
  const int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  const int64_t s = options_.size(), p = options_.padding();
  if (h + 2 * p < s || w + 2 * p < s) {
    throw DataError(fmt::format("random_crop: size {} is larger than the padded images ({}x{} with padding {}) of "
                                "shape {}", s, h + 2 * p, w + 2 * p, p, shape_of(images)));
  }
  auto out = at::zeros({n, c, s, s}, in.options());
  const int64_t esize = static_cast<int64_t>(in.element_size());
  const char* src = static_cast<const char*>(in.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  for (int64_t i = 0; i < n; ++i) {
    SampleRng rng(seeds[i]);
    const int64_t top = rng.below(h + 2 * p - s + 1);  // in padded coordinates, as torchvision draws them
    const int64_t left = rng.below(w + 2 * p - s + 1);
    // Output (y, x) reads input (top + y - p, left + x - p) where that is inside the image.
    const int64_t y0 = std::max<int64_t>(0, p - top), y1 = std::min<int64_t>(s, h + p - top);
    const int64_t x0 = std::max<int64_t>(0, p - left), x1 = std::min<int64_t>(s, w + p - left);
    if (y0 >= y1 || x0 >= x1) continue;
    for (int64_t ch = 0; ch < c; ++ch) {
      const char* plane = src + ((i * c + ch) * h * w) * esize;
      char* target = dst + ((i * c + ch) * s * s) * esize;
      for (int64_t y = y0; y < y1; ++y) {
        std::memcpy(target + (y * s + x0) * esize, plane + ((top + y - p) * w + (left + x0 - p)) * esize,
                    static_cast<size_t>((x1 - x0) * esize));
      }
    }
  }
  return out;
}

HorizontalFlip::HorizontalFlip(HorizontalFlipOptions options) : options_(options) {
  if (!(options_.p() >= 0.0 && options_.p() <= 1.0)) {
    throw ConfigError(fmt::format("horizontal_flip: p must be in [0, 1], got {}", options_.p()));
  }
}

std::string HorizontalFlip::yaml() const { return fmt::format("{{horizontal_flip: {{p: {}}}}}", options_.p()); }

at::Tensor HorizontalFlip::apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const {
  const auto in = checked_images(images, name());
  check_seeds(in, seeds, name());
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const int64_t n = in.size(0), w = in.size(3);
  const int64_t rows = in.size(1) * in.size(2);
  const int64_t esize = static_cast<int64_t>(in.element_size());
  const int64_t sample_bytes = rows * w * esize;
  const char* src = static_cast<const char*>(in.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  for (int64_t i = 0; i < n; ++i) {
    SampleRng rng(seeds[i]);
    const char* from = src + i * sample_bytes;
    char* to = dst + i * sample_bytes;
    if (!(rng.uniform() < options_.p())) {
      std::memcpy(to, from, static_cast<size_t>(sample_bytes));
      continue;
    }
    switch (esize) {
      case 1: mirror_rows<uint8_t>(from, to, rows, w); break;
      case 2: mirror_rows<uint16_t>(from, to, rows, w); break;
      case 4: mirror_rows<uint32_t>(from, to, rows, w); break;
      case 8: mirror_rows<uint64_t>(from, to, rows, w); break;
      default:
        throw DataError(fmt::format("horizontal_flip: cannot flip elements of {} bytes (dtype {})", esize,
                                    std::string(c10::toString(in.scalar_type()))));
    }
  }
  return out;
}

Normalize::Normalize(NormalizeOptions options) : options_(std::move(options)) {
  const auto& mean = options_.mean();
  const auto& std = options_.std();
  if (mean.empty()) throw ConfigError("normalize: mean must hold one value or one per channel, got []");
  if (std.size() != mean.size()) {
    throw ConfigError(fmt::format("normalize: std must have as many values as mean ({}), got {}", list(mean),
                                  list(std)));
  }
  for (double s : std) {
    if (!(s > 0.0)) throw ConfigError(fmt::format("normalize: every std must be > 0, got {}", list(std)));
  }
}

std::string Normalize::yaml() const {
  return fmt::format("{{normalize: {{mean: {}, std: {}}}}}", list(options_.mean()), list(options_.std()));
}

at::Tensor Normalize::apply(const at::Tensor& images, const std::vector<uint64_t>& seeds) const {
  const auto in = checked_images(images, name());
  check_seeds(in, seeds, name());
  const int64_t c = in.size(1);
  const int64_t k = static_cast<int64_t>(options_.mean().size());
  if (k != 1 && k != c) {
    throw DataError(fmt::format("normalize: {} mean/std values for images of {} channels (shape {}); give one value "
                                "or one per channel", k, c, shape_of(images)));
  }
  if (!at::isFloatingType(in.scalar_type())) {
    throw DataError(fmt::format("normalize: expected floating-point images, got dtype {}",
                                std::string(c10::toString(in.scalar_type()))));
  }
  auto out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const int64_t planes = in.size(0) * c, plane = in.size(2) * in.size(3);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, in.scalar_type(), "normalize", [&] {
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    for (int64_t q = 0; q < planes; ++q) {
      const int64_t ch = k == 1 ? 0 : q % c;
      // In the images' own type, as torchvision's tensor.sub_(mean).div_(std) computes it.
      const scalar_t m = static_cast<scalar_t>(options_.mean()[ch]);
      const scalar_t s = static_cast<scalar_t>(options_.std()[ch]);
      for (int64_t j = 0; j < plane; ++j) dst[q * plane + j] = static_cast<scalar_t>((src[q * plane + j] - m) / s);
    }
  });
  return out;
}

at::Tensor apply_transforms(const TransformList& transforms, const at::Tensor& input, uint64_t loader_seed,
                            int64_t epoch, const std::vector<int64_t>& indices) {
  if (transforms.empty()) return input;
  const bool one_channel = input.defined() && input.dim() == 3;
  if (!input.defined() || (input.dim() != 3 && input.dim() != 4)) {
    throw DataError(fmt::format("{}: expected images [N, C, H, W] or [N, H, W], got shape {}",
                                transforms.front() ? transforms.front()->name() : "transforms",
                                input.defined() ? shape_of(input) : std::string("(undefined)")));
  }
  at::Tensor images = one_channel ? input.unsqueeze(1) : input;
  for (size_t position = 0; position < transforms.size(); ++position) {
    const auto& transform = transforms[position];
    if (!transform) throw ConfigError(fmt::format("DataLoader: transform {} is null", position));
    std::vector<uint64_t> seeds(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
      seeds[i] = sample_seed(loader_seed, epoch, indices[i], static_cast<int64_t>(position));
    }
    images = transform->apply(images, seeds);
  }
  return one_channel ? images.squeeze(1) : images;
}

}  // namespace tempo
