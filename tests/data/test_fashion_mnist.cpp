#include "tempo/data/fashion_mnist.h"
#include "tempo/data/idx_file.h"

#include "tempo/errors/error.h"

#include <doctest/doctest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

// doctest's Contains takes only its own String; error messages here are built from paths.
doctest::Contains has(const std::string& text) { return doctest::Contains(text.c_str()); }

// A fresh folder per test case, removed afterwards.
struct TempDir {
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("tempo_fmnist_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  fs::path path;
};

void put32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

Bytes idx(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b;
  put32(b, magic);
  for (uint32_t d : dims) put32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(f) == Z_OK);
}

void write_plain(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const char kImages[] = "t10k-images-idx3-ubyte.gz";
const char kLabels[] = "t10k-labels-idx1-ubyte.gz";

// Three 28x28 images (all 0, all 255, pixel i = i % 256) with labels 9, 0, 4.
void write_small_set(const TempDir& dir, const Bytes& labels = {9, 0, 4}) {
  Bytes pixels(3 * 784, 0);
  for (int i = 0; i < 784; ++i) {
    pixels[784 + i] = 255;
    pixels[2 * 784 + i] = static_cast<unsigned char>(i % 256);
  }
  write_gz(dir.file(kImages), idx(0x803, {3, 28, 28}, pixels));
  write_gz(dir.file(kLabels), idx(0x801, {static_cast<uint32_t>(labels.size())}, labels));
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("Fashion-MNIST test split loads with the documented shapes and statistics") {
    if (!fs::exists(tempo::kFashionMnistDir)) {
      MESSAGE("skipped: dataset-fashion-mnist is not installed");
      return;
    }
    auto ds = tempo::load_fashion_mnist(tempo::Split::TEST);
    REQUIRE(ds->size() == 10000);
    CHECK(ds->input().sizes() == torch::IntArrayRef({10000, 1, 28, 28}));
    CHECK(ds->input().dtype() == torch::kFloat32);
    CHECK(ds->target().sizes() == torch::IntArrayRef({10000}));
    CHECK(ds->target().dtype() == torch::kInt64);
    CHECK(ds->target().min().item<int64_t>() == 0);
    CHECK(ds->target().max().item<int64_t>() == 9);
    // The test split is balanced: 1000 images per class.
    const auto counts = torch::bincount(ds->target());
    CHECK(torch::equal(counts, torch::full({10}, 1000, torch::kInt64)));
    CHECK(std::abs(ds->input().mean().item<double>()) < 0.05);
    CHECK(ds->input().min().item<double>() == doctest::Approx(-0.2860 / 0.3530).epsilon(1e-5));
    CHECK(ds->input().max().item<double>() ==
          doctest::Approx((1 - 0.2860) / 0.3530).epsilon(1e-5));
  }

  TEST_CASE("Fashion-MNIST train split is normalised to mean 0, std 1") {
    if (!fs::exists(tempo::kFashionMnistDir)) {
      MESSAGE("skipped: dataset-fashion-mnist is not installed");
      return;
    }
    auto ds = tempo::load_fashion_mnist(tempo::kFashionMnistDir, tempo::Split::TRAIN);
    REQUIRE(ds->size() == 60000);
    CHECK(std::abs(ds->input().mean().item<double>()) < 0.01);
    CHECK(ds->input().std().item<double>() == doctest::Approx(1.0).epsilon(0.02));
    CHECK(torch::equal(torch::bincount(ds->target()), torch::full({10}, 6000, torch::kInt64)));
  }

  TEST_CASE("Fashion-MNIST: a missing folder names the file and how to install it") {
    const std::string dir = "/nonexistent/tempo-fmnist";
    CHECK_THROWS_WITH_AS(tempo::load_fashion_mnist(dir, tempo::Split::TEST),
                         has(dir + "/t10k-images-idx3-ubyte.gz"), tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::load_fashion_mnist(dir, tempo::Split::TRAIN),
                         has("install it with: apt-get install dataset-fashion-mnist"),
                         tempo::DataError);
  }

  TEST_CASE("Fashion-MNIST loads small well-formed files exactly") {
    TempDir dir;
    write_small_set(dir);
    auto ds = tempo::load_fashion_mnist(dir.path.string(), tempo::Split::TEST);
    REQUIRE(ds->size() == 3);
    CHECK(torch::equal(ds->target(), torch::tensor({9, 0, 4}, torch::kInt64)));
    const auto x = ds->input();
    CHECK(x[0][0][5][5].item<float>() == doctest::Approx(-0.2860 / 0.3530).epsilon(1e-6));
    CHECK(x[1][0][27][27].item<float>() == doctest::Approx((1 - 0.2860) / 0.3530).epsilon(1e-6));
    // Pixel (row 1, col 2) of image 2 is byte 30.
    CHECK(x[2][0][1][2].item<float>() ==
          doctest::Approx((30 / 255.0 - 0.2860) / 0.3530).epsilon(1e-6));
  }

  TEST_CASE("Fashion-MNIST: damaged files are DataErrors naming the file") {
    TempDir dir;
    const std::string images = dir.file(kImages);
    const std::string labels = dir.file(kLabels);
    auto load = [&] { return tempo::load_fashion_mnist(dir.path.string(), tempo::Split::TEST); };

    SUBCASE("wrong magic in a gzip file") {
      write_small_set(dir);
      write_gz(images, idx(0x804, {3, 28, 28, 1}, Bytes(3 * 784)));
      CHECK_THROWS_WITH_AS(load(), has(images + ": not an IDX file"),
                           tempo::DataError);
      CHECK_THROWS_WITH_AS(load(), has("magic number 0x00000804, expected 0x00000803"),
                           tempo::DataError);
    }
    SUBCASE("a plain text file") {
      write_small_set(dir);
      write_plain(labels, "this is not a data set\n");
      CHECK_THROWS_WITH_AS(load(), has(labels), tempo::DataError);
      CHECK_THROWS_WITH_AS(load(), has("not gzip-compressed"), tempo::DataError);
    }
    SUBCASE("an empty gzip file") {
      write_small_set(dir);
      write_gz(images, {});
      CHECK_THROWS_WITH_AS(load(), has(images + ": not an IDX file"),
                           tempo::DataError);
    }
    SUBCASE("fewer pixels than the header promises") {
      write_small_set(dir);
      write_gz(images, idx(0x803, {3, 28, 28}, Bytes(100)));
      CHECK_THROWS_WITH_AS(load(), has(images + ": truncated"), tempo::DataError);
    }
    SUBCASE("a gzip stream cut short") {
      write_small_set(dir);
      const auto full = fs::file_size(images);
      fs::resize_file(images, full / 2);
      CHECK_THROWS_WITH_AS(load(), has(images + ": corrupt or truncated gzip stream"),
                           tempo::DataError);
    }
    SUBCASE("a header promising absurd sizes") {
      write_small_set(dir);
      write_gz(images, idx(0x803, {0xFFFFFFFF, 28, 28}, Bytes(10)));
      CHECK_THROWS_WITH_AS(load(), has(images), tempo::DataError);
    }
    SUBCASE("data past the end") {
      write_small_set(dir);
      write_gz(labels, idx(0x801, {3}, Bytes{1, 2, 3, 4}));
      CHECK_THROWS_WITH_AS(load(), has(labels + ": has data past"),
                           tempo::DataError);
    }
    SUBCASE("images that are not 28x28") {
      write_small_set(dir);
      write_gz(images, idx(0x803, {3, 27, 28}, Bytes(3 * 27 * 28)));
      CHECK_THROWS_WITH_AS(load(), has(images + ": images are 27x28, expected 28x28"),
                           tempo::DataError);
    }
    SUBCASE("image and label counts differ") {
      write_small_set(dir, {1, 2});
      CHECK_THROWS_WITH_AS(load(), has(labels + ": holds 2 labels"),
                           tempo::DataError);
    }
    SUBCASE("a label outside [0, 9]") {
      write_small_set(dir, {1, 10, 2});
      CHECK_THROWS_WITH_AS(load(), has("label 10 at sample 1"), tempo::DataError);
    }
  }

  TEST_CASE("read_idx_ubyte reads a plain (uncompressed) IDX file") {
    TempDir dir;
    const std::string path = dir.file("plain.idx");
    const Bytes b = idx(0x802, {2, 3}, Bytes{1, 2, 3, 4, 5, 6});
    write_plain(path, std::string(b.begin(), b.end()));
    const auto t = tempo::read_idx_ubyte(path, 2);
    CHECK(t.sizes() == torch::IntArrayRef({2, 3}));
    CHECK(t[1][2].item<int>() == 6);
    CHECK_THROWS_WITH_AS(tempo::read_idx_ubyte(dir.file("absent"), 1),
                         has(dir.file("absent")), tempo::DataError);
  }
}
