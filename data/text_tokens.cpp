#include "tempo/data/text_tokens.h"

#include <glob.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "tempo/errors/error.h"

namespace tempo {

namespace {

// The regular files `pattern` names, sorted, each real file once.
std::vector<std::string> expand(const std::string& pattern) {
  glob_t found{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &found);
  std::vector<std::string> names;
  if (rc == 0) names.assign(found.gl_pathv, found.gl_pathv + found.gl_pathc);
  ::globfree(&found);
  if (rc != 0 && rc != GLOB_NOMATCH) throw DataError(fmt::format("text_tokens: cannot read the folders of '{}'", pattern));
  std::sort(names.begin(), names.end());
  std::vector<std::string> files;
  std::set<std::filesystem::path> seen;
  for (const auto& name : names) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(name, ec)) continue;  // folders, broken links
    const auto real = std::filesystem::canonical(name, ec);
    if (ec || !seen.insert(real).second) continue;  // GPL -> GPL-3: the text once
    files.push_back(name);
  }
  if (files.empty()) throw DataError(fmt::format("text_tokens: files '{}' matches no readable file", pattern));
  return files;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::string bytes(ec ? 0 : size, '\0');
  if (!in || ec || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())) || in.peek() != EOF) {
    throw DataError(fmt::format("text_tokens: cannot read '{}' (or it changed while read)", path));
  }
  return bytes;
}

}  // namespace

TextTokensDataset::TextTokensDataset(const TextTokensOptions& options) : seq_len_(options.seq_len()) {
  if (seq_len_ < 1) throw ConfigError(fmt::format("text_tokens: seq_len must be >= 1, got {}", seq_len_));
  const bool train = options.split() == "train";
  if (!train && options.split() != "validation") {
    throw ConfigError(fmt::format("text_tokens: split must be train or validation, got '{}'", options.split()));
  }
  const double fraction = options.val_fraction();
  if (!(fraction >= 0.0 && fraction < 1.0) || (!train && fraction == 0.0)) {
    throw ConfigError(fmt::format("text_tokens: val_fraction must be in {} 1), got {}", train ? "[0," : "(0,", fraction));
  }
  if (options.files().empty()) throw ConfigError("text_tokens: files is required (a glob such as 'texts/*.txt')");
  files_ = expand(options.files());
  std::string stream;
  for (const auto& file : files_) {
    stream += read_file(file);
    if (!stream.empty() && stream.back() != '\n') stream += '\n';
  }
  const auto total = static_cast<int64_t>(stream.size());
  const auto train_tokens = static_cast<int64_t>(std::floor(static_cast<double>(total) * (1.0 - fraction)));
  const int64_t begin = train ? 0 : train_tokens;
  const int64_t end = train ? train_tokens : total;
  if (end - begin < seq_len_ + 1) {
    throw DataError(fmt::format("text_tokens: the {} split of '{}' ({} files, {} bytes, val_fraction {}) holds {} "
                                "tokens; seq_len {} needs at least {}",
                                options.split(), options.files(), files_.size(), total, fraction, end - begin,
                                seq_len_, seq_len_ + 1));
  }
  tokens_ = torch::empty({end - begin}, torch::kUInt8);
  std::copy(stream.begin() + begin, stream.begin() + end, reinterpret_cast<char*>(tokens_.data_ptr<uint8_t>()));
  size_ = (end - begin - 1) / seq_len_;
}

Batch TextTokensDataset::get_batch(const std::vector<int64_t>& indices) const {
  const auto n = static_cast<int64_t>(indices.size());
  for (auto i : indices) {
    if (i < 0 || i >= size_) {
      throw DataError(fmt::format("text_tokens: sample {} is out of range [0, {})", i, size_));
    }
  }
  // One gather of n rows of seq_len + 1 tokens, then the input and the shifted target as views.
  auto starts = torch::tensor(indices, torch::kLong).mul_(seq_len_);
  auto positions = starts.unsqueeze(1) + torch::arange(seq_len_ + 1, torch::kLong).unsqueeze(0);
  auto rows = tokens_.take(positions).to(torch::kLong);
  Batch batch{rows.narrow(1, 0, seq_len_).contiguous(), rows.narrow(1, 1, seq_len_).contiguous()};
  batch.num_tokens = n * seq_len_;
  return batch;
}

double unigram_entropy(const at::Tensor& tokens) {
  const auto counts = torch::bincount(tokens.flatten().to(torch::kLong), {}, 256).to(torch::kDouble);
  const auto p = counts / counts.sum();
  const auto nonzero = p.masked_select(p > 0);
  return -(nonzero * nonzero.log()).sum().item<double>();
}

}  // namespace tempo
