// Byte-level token streams from text files, for language models: every byte is a token (vocabulary
// 256, no tokenizer to ship or version), the files a glob names are read in sorted order and
// joined into one stream (a file that does not end in '\n' gets one), and the stream is cut into
// consecutive sequences of seq_len + 1 tokens that overlap by one: sample i has input
// tokens[i*L, i*L + L) and target tokens[i*L + 1, i*L + L + 1) (next-token prediction), both int64
// [L]. The split is by position, as nanoGPT's: the first (1 - val_fraction) of the stream is
// "train", the rest "validation", so the two never share a token.
// Every batch reports num_tokens = samples * seq_len (the tokens predicted), so `tok` durations,
// `{token}` in checkpoint names and tokens/s in speed_monitor count them.
// Invariants: size() >= 1; inputs and targets are in [0, 255]; get_batch is const and thread-safe.
// Throws: DataError when the glob matches no file, a file cannot be read, or the split holds fewer
// than seq_len + 1 tokens (naming the glob, the files' size and what was needed); ConfigError for
// seq_len < 1, a val_fraction outside [0, 1) (or 0 for the validation split) or an unknown split.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tempo/data/dataset.h"

namespace tempo {

struct TextTokensOptions {
  // A glob(7) pattern ("/usr/share/common-licenses/*", "corpus/**.txt" is not recursive); several
  // names that resolve to one file (symlinks) are read once.
  TORCH_ARG(std::string, files) = "";
  TORCH_ARG(std::string, split) = "train";  // "train" or "validation"
  TORCH_ARG(double, val_fraction) = 0.1;
  TORCH_ARG(int64_t, seq_len) = 128;
};

class TextTokensDataset : public Dataset {
 public:
  explicit TextTokensDataset(const TextTokensOptions& options);

  int64_t size() const override { return size_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  bool counts_tokens() const override { return true; }

  // The split's tokens (uint8 [n]) and the files read, in order.
  const at::Tensor& tokens() const { return tokens_; }
  const std::vector<std::string>& files() const { return files_; }
  int64_t seq_len() const { return seq_len_; }

 private:
  at::Tensor tokens_;
  std::vector<std::string> files_;
  int64_t seq_len_;
  int64_t size_;
};

// Entropy in nats of the byte distribution of `tokens` (uint8): the loss of the best model that
// ignores context, which a language model has to beat.
double unigram_entropy(const at::Tensor& tokens);

}  // namespace tempo
