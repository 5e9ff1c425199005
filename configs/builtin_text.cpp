// The language-model parts: `model: {gpt: ...}` (models/gpt.h) and
// `train_loader: {text_tokens: ...}` (data/text_tokens.h), with their keys' checks.
#include <fmt/format.h>

#include "tempo/configs/builtin_support.h"
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/registry.h"

namespace tempo::config {

namespace {

Check<int64_t> positive() {
  return [](const int64_t& v) { return v > 0 ? "" : fmt::format("expected a number > 0, got {}", v); };
}

Check<double> fraction(bool allow_zero) {
  return [allow_zero](const double& v) {
    return (allow_zero ? v >= 0.0 : v > 0.0) && v < 1.0
               ? ""
               : fmt::format("expected a number in {}0, 1), got {}", allow_zero ? "[" : "(", v);
  };
}

}  // namespace

const Description<GptOptions>& gpt_description() {
  using O = GptOptions;
  static const Description<O> d({
      field("vocab_size", &O::vocab_size, "Token ids 0..vocab_size-1 (256: text_tokens' bytes)", positive()),
      field("context_length", &O::context_length, "Longest sequence (positions embedded)", positive()),
      field("layers", &O::layers, "Transformer blocks", positive()),
      field("heads", &O::heads, "Attention heads (divides width)", positive()),
      field("width", &O::width, "Model width d_model (the MLP is 4x wider)", positive()),
      field("dropout", &O::dropout, "Dropout on embeddings, attention and residuals", fraction(true)),
      field("tie_embeddings", &O::tie_embeddings, "Output projection = token embedding matrix"),
  });
  return d;
}

const Description<TextTokensOptions>& text_tokens_description() {
  using O = TextTokensOptions;
  static const Description<O> d({
      field("files", &O::files, "Glob of the text files, read in sorted order (required)",
            Check<std::string>([](const std::string& v) {
              return v.empty() ? std::string("expected a glob such as 'texts/*.txt'") : std::string();
            })),
      field("split", &O::split, "train (the first 1 - val_fraction of the bytes) or validation (the rest)",
            Check<std::string>([](const std::string& v) {
              return v == "train" || v == "validation" ? std::string()
                                                       : fmt::format("expected train or validation, got '{}'", v);
            })),
      field("val_fraction", &O::val_fraction, "Fraction of the byte stream held out for validation", fraction(true)),
      field("seq_len", &O::seq_len, "Tokens per sample (inputs; targets are shifted by one)", positive()),
  });
  return d;
}

void register_builtin_text(Registry& r) {
  if (!r.models.contains("gpt")) {
    r.add_model("gpt", [](const Args& a) -> std::shared_ptr<Model> {
      return std::make_shared<Gpt>(gpt_description().read(a.node()));
    }, gpt_description().schema());
  }
  if (!r.datasets.contains("text_tokens")) {
    r.add_dataset("text_tokens", [](const Args& a) {
      return make_loader(std::make_shared<TextTokensDataset>(text_tokens_description().read(a.node())), a);
    }, with_loader_keys(text_tokens_description().schema()));
  }
}

}  // namespace tempo::config
