// The language-model path end to end: the gpt model (GPT-2's names, causal, tied embeddings),
// text_tokens batches that count tokens, and a trainer that counts them: tok durations and
// intervals, {token} in checkpoint names, tokens/s, bit-exact resume; and Python's twin of the
// model (examples/tiny_lm/gpt.py) loading tempo's checkpoint and computing the same logits.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "support/fixtures.h"
#include "support/python.h"
#include "support/temp_dir.h"
#include "tempo/callbacks/speed_monitor.h"
#include "tempo/data/text_tokens.h"
#include "tempo/models/gpt.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/trainer/trainer.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

GptOptions small_gpt() { return GptOptions().context_length(8).layers(1).heads(2).width(16); }

std::set<std::string> parameter_names(const torch::nn::Module& module) {
  std::set<std::string> names;
  for (const auto& item : module.named_parameters()) names.insert(item.key());
  return names;
}

// ~3 KB of text with structure a model can learn.
std::string corpus() {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "the cat sat on mat " + std::to_string(i % 7) + "\n";
  return text;
}

class Recording : public LoggerDestination {
 public:
  std::map<std::string, int> counts;
  void log_metrics(const Metrics& m, int64_t) override {
    for (const auto& [key, value] : m) ++counts[key];
  }
  void log_hyperparameters(const Hyperparameters&) override {}
};

struct LmRun {
  std::shared_ptr<Gpt> model;
  std::shared_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<Trainer> trainer;
};

// A gpt on `data` (batches of 4 x 8 tokens = 32 tokens), initialised from `init_seed`.
LmRun make_lm_run(std::shared_ptr<Dataset> data, const std::string& max_duration, uint64_t init_seed,
                  const std::function<void(TrainerOptions&)>& configure, const GptOptions& gpt = small_gpt()) {
  torch::manual_seed(init_seed);
  LmRun run;
  run.model = std::make_shared<Gpt>(gpt);
  run.optimizer = std::make_shared<torch::optim::AdamW>(run.model->parameters(), torch::optim::AdamWOptions(1e-2));
  auto options = TrainerOptions()
                     .model(run.model)
                     .train_dataloader(loader(std::move(data), 4))
                     .optimizers({run.optimizer})
                     .max_duration(max_duration)
                     .seed(init_seed + 1)
                     .run_name("lm");
  configure(options);
  run.trainer = std::make_unique<Trainer>(options);
  return run;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("gpt: GPT-2's parameter names; tied embeddings are one parameter; bad sizes are refused") {
    Gpt tied(small_gpt());
    const std::set<std::string> block{"h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.c_attn.weight",
                                      "h.0.attn.c_attn.bias", "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias",
                                      "h.0.ln_2.weight", "h.0.ln_2.bias", "h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias",
                                      "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias"};
    auto expected = block;
    expected.insert({"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"});
    CHECK(parameter_names(tied) == expected);
    expected.insert("lm_head.weight");
    CHECK(parameter_names(Gpt(small_gpt().tie_embeddings(false))) == expected);
    CHECK_THROWS_WITH_AS(Gpt(small_gpt().heads(3)), "gpt: width 16 must be divisible by heads 3", ConfigError);
    CHECK_THROWS_AS(Gpt(small_gpt().layers(0)), ConfigError);
    CHECK_THROWS_AS(Gpt(small_gpt().dropout(1.0)), ConfigError);
  }

  TEST_CASE("gpt: logits [N, T, vocab], causal (a later token changes no earlier logit), inputs checked") {
    torch::manual_seed(3);
    Gpt model(small_gpt());
    model.eval();
    auto tokens = torch::randint(0, 256, {2, 8}, torch::kLong);
    const auto logits = model.forward(tokens);
    CHECK(logits.sizes() == torch::IntArrayRef({2, 8, 256}));
    auto changed = tokens.clone();
    changed.index_put_({0, 5}, (tokens.index({0, 5}).item<int64_t>() + 1) % 256);
    const auto after = model.forward(changed);
    CHECK(torch::equal(after.narrow(1, 0, 5), logits.narrow(1, 0, 5)));
    CHECK_FALSE(torch::equal(after.narrow(1, 5, 3), logits.narrow(1, 5, 3)));
    CHECK(model.forward(tokens.narrow(1, 0, 3)).sizes() == torch::IntArrayRef({2, 3, 256}));
    CHECK_THROWS_WITH_AS(model.forward(torch::zeros({2, 9}, torch::kLong)),
                         "gpt: expected int64 tokens [N, T] with 1 <= T <= context_length 8, got 2x9 Long", DataError);
    CHECK_THROWS_AS(model.forward(torch::zeros({2, 4})), DataError);
  }

  TEST_CASE("a text_tokens run counts tokens: tok durations and intervals, {token} names, tokens/s, exact resume") {
    TempDir dir;
    { std::ofstream(dir / "corpus.txt") << corpus(); }
    auto data = std::make_shared<TextTokensDataset>(TextTokensOptions().files(dir / "*.txt").seq_len(8));
    auto destination = std::make_shared<Recording>();
    auto configure = [&](TrainerOptions& o) {
      o.save_folder(dir / "ck").save_interval(Time::parse("96tok")).save_filename("tok{token}-ba{batch}.pt");
    };
    auto full = make_lm_run(data, "320tok", 11, [&](TrainerOptions& o) {
      configure(o);
      o.callbacks({std::make_shared<SpeedMonitor>(2)}).loggers({destination});
    });
    full.trainer->fit();
    const auto& t = full.trainer->state().timestamp;
    CHECK(t.batch() == 10);  // 320 tokens of 32 a batch
    CHECK(t.token() == 320);
    CHECK(t.sample() == 40);
    CHECK(files_in(dir / "ck") == std::vector<std::string>{"latest-rank0.pt", "tok192-ba6.pt", "tok288-ba9.pt",
                                                           "tok320-ba10.pt", "tok96-ba3.pt"});
    CHECK(destination->counts["throughput/tokens_per_sec"] == 8);  // a window of 2 batches: from batch 3 on

    auto resumed = make_lm_run(data, "320tok", 99, [&](TrainerOptions& o) {
      o.save_folder(dir / "ck2").save_interval(Time::parse("96tok"));
      o.load_path(dir / "ck/tok192-ba6.pt");
    });
    CHECK(resumed.trainer->state().timestamp.token() == 192);
    resumed.trainer->fit();
    CHECK(bit_equal(weights(*full.model), weights(*resumed.model)));

    // Data that counts no tokens: a tok run would never end, a tok interval never fire.
    CHECK_THROWS_WITH_AS(make_run(blobs(16), "4ba", [](TrainerOptions& o) { o.max_duration(Time::parse("64tok")); }),
                         doctest::Contains("max_duration cannot be in tokens (got 64tok): the training data set counts "
                                           "none"),
                         TimeError);
    auto never = make_run(blobs(16), "4ba", [&](TrainerOptions& o) {
      o.save_folder(dir / "ck3").save_interval(Time::parse("64tok"));
    });
    CHECK_THROWS_WITH_AS(never.trainer->fit(), doctest::Contains("interval 64tok is in tokens, but the training data "
                                                                 "counts none"),
                         TimeError);
  }

  TEST_CASE("Python's twin of gpt (examples/tiny_lm/gpt.py) loads tempo's checkpoint and computes its logits") {
    if (skip_without_python_torch()) return;
    TempDir dir;
    { std::ofstream(dir / "corpus.txt") << corpus(); }
    auto data = std::make_shared<TextTokensDataset>(TextTokensOptions().files(dir / "*.txt").seq_len(8));
    for (bool tied : {true, false}) {
      CAPTURE(tied);
      auto run = make_lm_run(data, "4ba", 5, [&](TrainerOptions& o) { o.save_folder(dir / "ck").save_overwrite(true); },
                             small_gpt().tie_embeddings(tied));
      run.trainer->fit();
      run.model->eval();
      const auto tokens = (torch::arange(16, torch::kLong) * 7).remainder(256).view({2, 8});
      torch::NoGradGuard no_grad;
      write_safetensors({{"logits", run.model->forward(tokens)}}, {}, dir / "logits.safetensors");
      const auto [rc, out] = run_python_script("gpt_twin.py",
                                               dir / "ck/latest-rank0.pt " + dir / "logits.safetensors" + " 8 1 2 16",
                                               dir / "log");
      INFO(out);
      CHECK(rc == 0);
    }
  }
}
