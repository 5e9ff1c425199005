// A small decoder-only transformer language model in GPT-2's shape (pre-LayerNorm blocks of causal
// self-attention and a GELU MLP, learned position embeddings, a final LayerNorm), written with
// LibTorch modules. Parameter names are GPT-2's as nanoGPT writes them ("wte.weight",
// "wpe.weight", "h.0.ln_1.weight", "h.0.attn.c_attn.weight", "h.0.attn.c_proj.weight",
// "h.0.ln_2.weight", "h.0.mlp.c_fc.weight", "h.0.mlp.c_proj.weight", "ln_f.weight", and
// "lm_head.weight" only when the embeddings are not tied), so the same module in Python loads its
// weights. With tie_embeddings the output projection is wte's matrix itself (one parameter, one
// optimizer entry, as Python's tied weights are).
// Initialisation is GPT-2's: weights N(0, 0.02) (residual projections N(0, 0.02 / sqrt(2 * layers))),
// biases 0, LayerNorm 1/0, from the global generator the run seeds.
// forward: int64 tokens [N, T] with T <= context_length -> logits [N, T, vocab_size]. loss: mean
// cross-entropy over every position. Metrics: LanguageCrossEntropy in evaluation (Composer's name;
// its exp is the perplexity), none in training.
// Throws: ConfigError for non-positive sizes, width not divisible by heads, dropout outside [0, 1);
// DataError for inputs that are not int64 [N, T] with 1 <= T <= context_length.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>

#include "tempo/state/model.h"

namespace tempo {

struct GptOptions {
  TORCH_ARG(int64_t, vocab_size) = 256;  // byte-level tokens (text_tokens)
  TORCH_ARG(int64_t, context_length) = 128;
  TORCH_ARG(int64_t, layers) = 2;
  TORCH_ARG(int64_t, heads) = 4;
  TORCH_ARG(int64_t, width) = 128;  // d_model; the MLP is 4 * width wide
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(bool, tie_embeddings) = true;
};

class Gpt : public Model {
 public:
  explicit Gpt(const GptOptions& options = {});
  torch::Tensor forward(const torch::Tensor& tokens) override;
  torch::Tensor loss(const torch::Tensor& outputs, const Batch& batch) override;
  MetricMap metrics(bool train) override;
  const GptOptions& options() const { return options_; }

 private:
  GptOptions options_;
  torch::nn::Embedding wte_{nullptr};
  torch::nn::Embedding wpe_{nullptr};
  torch::nn::Dropout drop_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // only without tie_embeddings
};

}  // namespace tempo
