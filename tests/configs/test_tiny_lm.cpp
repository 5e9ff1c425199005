// configs/tiny_lm.yaml as a user runs it (tempo train, in-process, in a scratch working folder):
// a byte-level gpt on Debian's license texts, counted in tokens, continued by autoresume. The
// model and run are made small by overrides so the first test stays short; the second runs the
// real model for a third of its run (README.md, "Your own data, and a language model", has the
// full run's numbers).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "configs/config_test_support.h"
#include "support/fixtures.h"
#include "support/temp_dir.h"
#include "tempo/data/text_tokens.h"

TEST_SUITE("configs") {
TEST_CASE("configs/tiny_lm.yaml trains a byte-level gpt in tokens and continues by autoresume") {
  if (!std::filesystem::exists("/usr/share/common-licenses/GPL-3")) {
    MESSAGE("skipped: /usr/share/common-licenses (Debian's base-files) is missing");
    return;
  }
  tempo::testing::TempDir dir;
  tempo::testing::WorkingFolder here(dir.path());
  const std::string config = std::string(TEMPO_SOURCE_DIR) + "/configs/tiny_lm.yaml";
  const std::vector<std::string> small{"model.gpt.width=32", "model.gpt.layers=1", "eval_interval=4096tok",
                                       "save_interval=4096tok", "schedulers.cosine_decay_with_warmup.t_warmup=2048tok"};
  auto args = std::vector<std::string>{config, "max_duration=8192tok"};
  args.insert(args.end(), small.begin(), small.end());
  const auto first = tempo::testing::run_cli(args);
  INFO(first.err);
  REQUIRE(first.status == 0);
  const auto folder = dir / "runs/tiny-lm/checkpoints";
  CHECK(tempo::testing::files_in(folder) == std::vector<std::string>{"config.yaml", "latest-rank0.pt",
                                                                     "tok4096-ba2-rank0.pt", "tok8192-ba4-rank0.pt"});
  // Each file-logger record carries the token count (its timestamp is the step's start: batch 3 of 2048 tokens each).
  std::ifstream log(dir / "runs/tiny-lm/logs-rank0.jsonl");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  CHECK(text.find("\"batch\": 3, \"batch_in_epoch\": 3, \"sample\": 96, \"token\": 6144") != std::string::npos);
  CHECK(text.find("metrics/eval/LanguageCrossEntropy") != std::string::npos);

  args[1] = "max_duration=12288tok";  // autoresume: two more batches from the newest checkpoint
  const auto second = tempo::testing::run_cli(args);
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(std::filesystem::exists(folder + "/tok12288-ba6-rank0.pt"));
  CHECK(second.out.find("finished at epoch 0, batch 6") != std::string::npos);
}

TEST_CASE("configs/tiny_lm.yaml learns: after a third of its run the validation loss is clearly below the unigram entropy") {
  if (!std::filesystem::exists("/usr/share/common-licenses/GPL-3")) {
    MESSAGE("skipped: /usr/share/common-licenses (Debian's base-files) is missing");
    return;
  }
  tempo::testing::TempDir dir;
  tempo::testing::WorkingFolder here(dir.path());
  // 400 of the config's 1200 batches, evaluated at the end (about 20 s on 2 cores).
  const auto run = tempo::testing::run_cli({std::string(TEMPO_SOURCE_DIR) + "/configs/tiny_lm.yaml",
                                            "max_duration=819200tok", "eval_interval=819200tok"});
  INFO(run.err);
  REQUIRE(run.status == 0);
  std::ifstream log(dir / "runs/tiny-lm/logs-rank0.jsonl");
  double loss = 0;
  for (std::string line; std::getline(log, line);) {
    const std::string key = "\"metrics/eval/LanguageCrossEntropy\": ";
    if (const auto at = line.find(key); at != std::string::npos) loss = std::stod(line.substr(at + key.size()));
  }
  const tempo::TextTokensDataset validation(tempo::TextTokensOptions()
                                                .files("/usr/share/common-licenses/*")
                                                .split("validation")
                                                .val_fraction(0.1)
                                                .seq_len(64));
  const double entropy = tempo::unigram_entropy(validation.tokens());
  MESSAGE("validation loss " << loss << " nats/token; unigram entropy of the validation bytes " << entropy);
  CHECK(loss > 0);
  CHECK(loss < entropy - 0.3);
}
}
