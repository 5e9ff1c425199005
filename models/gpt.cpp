#include "tempo/models/gpt.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "tempo/errors/error.h"
#include "tempo/metrics/loss_metric.h"

namespace tempo {

namespace {

torch::nn::LayerNorm layer_norm(int64_t width) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})); }

// Causal multi-head self-attention with one fused input projection, as GPT-2's c_attn.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const GptOptions& o)
      : heads_(o.heads()), dropout_(o.dropout()),
        c_attn(register_module("c_attn", torch::nn::Linear(o.width(), 3 * o.width()))),
        c_proj(register_module("c_proj", torch::nn::Linear(o.width(), o.width()))),
        resid_drop(register_module("resid_drop", torch::nn::Dropout(o.dropout()))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const auto n = x.size(0), t = x.size(1), c = x.size(2);
    auto qkv = c_attn(x).split(c, 2);
    auto heads = [&](const torch::Tensor& y) { return y.view({n, t, heads_, c / heads_}).transpose(1, 2); };
    auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
    const double p = is_training() ? dropout_ : 0.0;
#if TORCH_VERSION_MAJOR >= 2
    // The fused kernel Python's F.scaled_dot_product_attention calls.
    auto y = at::scaled_dot_product_attention(q, k, v, {}, p, /*is_causal=*/true);
#else
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(c / heads_));
    auto mask = torch::ones({t, t}, torch::dtype(torch::kBool).device(x.device())).triu(1);
    auto attn = torch::softmax(scores.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
    auto y = torch::matmul(torch::dropout(attn, p, is_training()), v);
#endif
    return resid_drop(c_proj(y.transpose(1, 2).contiguous().view({n, t, c})));
  }

 private:
  int64_t heads_;
  double dropout_;

 public:
  torch::nn::Linear c_attn, c_proj;
  torch::nn::Dropout resid_drop;
};
TORCH_MODULE(Attention);

class MlpBlockImpl : public torch::nn::Module {
 public:
  explicit MlpBlockImpl(const GptOptions& o)
      : c_fc(register_module("c_fc", torch::nn::Linear(o.width(), 4 * o.width()))),
        c_proj(register_module("c_proj", torch::nn::Linear(4 * o.width(), o.width()))),
        drop(register_module("drop", torch::nn::Dropout(o.dropout()))) {}
  torch::Tensor forward(const torch::Tensor& x) { return drop(c_proj(torch::gelu(c_fc(x)))); }

  torch::nn::Linear c_fc, c_proj;
  torch::nn::Dropout drop;
};
TORCH_MODULE(MlpBlock);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptOptions& o)
      : ln_1(register_module("ln_1", layer_norm(o.width()))),
        attn(register_module("attn", Attention(o))),
        ln_2(register_module("ln_2", layer_norm(o.width()))),
        mlp(register_module("mlp", MlpBlock(o))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = x + attn(ln_1(x));
    return x + mlp(ln_2(x));
  }

  torch::nn::LayerNorm ln_1;
  Attention attn;
  torch::nn::LayerNorm ln_2;
  MlpBlock mlp;
};
TORCH_MODULE(Block);

}  // namespace

Gpt::Gpt(const GptOptions& options) : options_(options) {
  const auto& o = options_;
  for (auto [key, value] : {std::pair<const char*, int64_t>{"vocab_size", o.vocab_size()},
                            {"context_length", o.context_length()}, {"layers", o.layers()},
                            {"heads", o.heads()}, {"width", o.width()}}) {
    if (value < 1) throw ConfigError(fmt::format("gpt: {} must be positive, got {}", key, value));
  }
  if (o.width() % o.heads() != 0) {
    throw ConfigError(fmt::format("gpt: width {} must be divisible by heads {}", o.width(), o.heads()));
  }
  if (!(o.dropout() >= 0.0 && o.dropout() < 1.0)) {
    throw ConfigError(fmt::format("gpt: dropout {} must be in [0, 1)", o.dropout()));
  }
  wte_ = register_module("wte", torch::nn::Embedding(o.vocab_size(), o.width()));
  wpe_ = register_module("wpe", torch::nn::Embedding(o.context_length(), o.width()));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout()));
  blocks_ = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers(); ++i) blocks_->push_back(Block(o));
  ln_f_ = register_module("ln_f", layer_norm(o.width()));
  if (!o.tie_embeddings()) {
    lm_head_ = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(o.width(), o.vocab_size()).bias(false)));
  }
  // GPT-2's initialisation, in the order named_parameters lists the weights.
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(o.layers()));
  for (auto& item : named_parameters()) {
    const auto& name = item.key();
    auto& p = item.value();
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (name.find("ln_") != std::string::npos) {
      is_bias ? p.zero_() : p.fill_(1.0);
    } else if (is_bias) {
      p.zero_();
    } else {
      const bool residual = name.find("c_proj.weight") != std::string::npos;
      p.normal_(0.0, residual ? residual_std : 0.02);
    }
  }
}

torch::Tensor Gpt::forward(const torch::Tensor& tokens) {
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kLong || tokens.size(1) < 1 ||
      tokens.size(1) > options_.context_length()) {
    throw DataError(fmt::format("gpt: expected int64 tokens [N, T] with 1 <= T <= context_length {}, got {} {}",
                                options_.context_length(), fmt::join(tokens.sizes(), "x"), c10::toString(tokens.scalar_type())));
  }
  const auto t = tokens.size(1);
  auto positions = torch::arange(t, torch::dtype(torch::kLong).device(tokens.device()));
  auto x = drop_(wte_(tokens) + wpe_(positions));
  for (const auto& block : *blocks_) x = block->as<BlockImpl>()->forward(x);
  x = ln_f_(x);
  return options_.tie_embeddings() ? torch::matmul(x, wte_->weight.t()) : lm_head_(x);
}

torch::Tensor Gpt::loss(const torch::Tensor& outputs, const Batch& batch) {
  return torch::nn::functional::cross_entropy(outputs.reshape({-1, outputs.size(-1)}), batch.target.reshape({-1}));
}

MetricMap Gpt::metrics(bool train) {
  if (train) return {};
  auto cross_entropy = [](const at::Tensor& outputs, const Batch& batch) {
    return torch::nn::functional::cross_entropy(outputs.reshape({-1, outputs.size(-1)}), batch.target.reshape({-1}));
  };
  return metric_map({std::make_shared<LossMetric>(cross_entropy, "LanguageCrossEntropy")});
}

}  // namespace tempo
