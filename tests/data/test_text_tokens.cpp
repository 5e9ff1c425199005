#include "tempo/data/text_tokens.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"
#include "tempo/data/batch.h"
#include "tempo/errors/error.h"

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string text_of(const at::Tensor& tokens) {
  const auto bytes = tokens.to(torch::kUInt8).contiguous();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), static_cast<size_t>(bytes.numel()));
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("text_tokens: files in sorted order, each once, split by position into shifted sequences") {
    tempo::testing::TempDir dir;
    write(dir / "b.txt", "world\n");
    write(dir / "a.txt", "hello");  // no final newline: one is added between files
    std::filesystem::create_symlink(dir / "a.txt", dir / "c.txt");  // the same text twice: read once
    std::filesystem::create_directory(dir / "d.txt");                // not a file: skipped
    const auto options = tempo::TextTokensOptions().files(dir / "*.txt").val_fraction(0.25).seq_len(2);
    // The stream is "hello\nworld\n" (12 bytes): train "hello\nwor" (9), validation "ld\n" (3).
    tempo::TextTokensDataset train(options);
    CHECK(train.files() == std::vector<std::string>{dir / "a.txt", dir / "b.txt"});
    CHECK(text_of(train.tokens()) == "hello\nwor");
    CHECK(train.size() == 4);  // (9 - 1) / 2
    CHECK(train.counts_tokens());
    const auto batch = train.get_batch({3, 1});
    CHECK((batch.input.scalar_type() == torch::kLong));
    CHECK(batch.input.sizes() == torch::IntArrayRef({2, 2}));
    CHECK(text_of(batch.input[0]) == "wo");
    CHECK(text_of(batch.target[0]) == "or");
    CHECK(text_of(batch.input[1]) == "ll");
    CHECK(text_of(batch.target[1]) == "lo");
    CHECK(batch.num_tokens == 4);
    CHECK(batch.narrow(1, 1).num_tokens == 2);
    CHECK(tempo::Batch::cat({batch, batch}).num_tokens == 8);

    tempo::TextTokensDataset validation(tempo::TextTokensOptions(options).split("validation"));
    CHECK(text_of(validation.tokens()) == "ld\n");
    REQUIRE(validation.size() == 1);
    CHECK(text_of(validation.get_batch({0}).target[0]) == "d\n");
    CHECK_THROWS_WITH_AS(validation.get_batch({1}), "text_tokens: sample 1 is out of range [0, 1)", tempo::DataError);
  }

  TEST_CASE("text_tokens: bad options and data are errors that name what is wrong") {
    tempo::testing::TempDir dir;
    write(dir / "a.txt", "0123456789");
    const auto ok = tempo::TextTokensOptions().files(dir / "*.txt").seq_len(4);
    CHECK_THROWS_WITH_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).files(dir / "*.md")),
                         doctest::Contains("matches no readable file"), tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).seq_len(20)),
                         doctest::Contains("seq_len 20 needs at least 21"), tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).split("test")),
                         "text_tokens: split must be train or validation, got 'test'", tempo::ConfigError);
    CHECK_THROWS_WITH_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).split("validation").val_fraction(0)),
                         doctest::Contains("val_fraction must be in (0, 1)"), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).seq_len(0)), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::TextTokensDataset(tempo::TextTokensOptions(ok).files("")), tempo::ConfigError);
  }

  TEST_CASE("unigram entropy is the entropy of the byte histogram, in nats") {
    CHECK(tempo::unigram_entropy(torch::tensor({97, 97, 98, 98}, torch::kUInt8)) == doctest::Approx(std::log(2.0)));
    CHECK(tempo::unigram_entropy(torch::tensor({1, 1, 1}, torch::kUInt8)) == doctest::Approx(0.0));
  }
}
