// `tempo train` end to end, in-process: a run on synthetic data checkpoints and writes its
// resolved config; a second invocation resumes from the latest checkpoint.
#include <doctest/doctest.h>

#include <filesystem>

#include "tempo/cli/main.h"
#include "configs/config_test_support.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"

TEST_SUITE("configs") {
TEST_CASE("tempo train trains, checkpoints, saves the resolved config and resumes from load_path") {
  tempo::testing::TempDir dir;
  const auto path = dir / "run.yaml";
  tempo::testing::write_file(path, tempo::testing::tiny_config("save_folder: " + dir.path() +
                                                              "/{run_name}/checkpoints\nsave_interval: 2ba\n"));
  const auto first = tempo::testing::run_cli({path});
  INFO(first.err);
  REQUIRE(first.status == 0);
  const auto folder = dir / "tiny/checkpoints";
  CHECK(first.out.find("resolved config saved to " + folder + "/config.yaml") != std::string::npos);
  CHECK(first.out.find("finished at epoch 1, batch 4") != std::string::npos);
  // The resolved config is saved, not printed (-v prints it too).
  CHECK(first.out.find("max_duration: 4ba") == std::string::npos);
  CHECK(tempo::testing::files_in(folder) ==
        std::vector<std::string>{"config.yaml", "ep0-ba2-rank0.pt", "ep0-ba4-rank0.pt", "latest-rank0.pt"});

  // The saved config is the resolved one: --print-config of the same file prints the same YAML.
  const auto printed = tempo::testing::run_cli({path, "--print-config"});
  CHECK(printed.status == 0);
  std::ifstream saved(folder + "/config.yaml");
  std::stringstream saved_text;
  saved_text << saved.rdbuf();
  CHECK(saved_text.str() == printed.out);

  const auto second = tempo::testing::run_cli({path, "max_duration=6ba", "run_name=tiny-resumed",
                                               "load_path=" + folder + "/latest-rank0.pt"});
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("resumed from " + folder + "/latest-rank0.pt at epoch 0, batch 4") != std::string::npos);
  CHECK(second.out.find("finished at epoch 1, batch 6") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "tiny-resumed/checkpoints/ep1-ba6-rank0.pt"));

  // autoresume continues the first run in its own folder; -v prints the resolved config first.
  const auto third = tempo::testing::run_cli({path, "max_duration=6ba", "autoresume=true", "-v"});
  INFO(third.err);
  REQUIRE(third.status == 0);
  CHECK(third.out.find("at epoch 0, batch 4") != std::string::npos);
  CHECK(third.out.find("max_duration: 6ba") != std::string::npos);
  CHECK(std::filesystem::exists(folder + "/ep1-ba6-rank0.pt"));
}

TEST_CASE("autoresume with a changed hyperparameter: the checkpoint's value wins, each change is said, config.yaml is true") {
  tempo::testing::TempDir dir;
  const auto path = dir / "run.yaml";
  tempo::testing::write_file(path, tempo::testing::tiny_config("save_folder: " + dir.path() +
                                                              "/{run_name}/ck\nsave_interval: 2ba\nautoresume: true\n"));
  REQUIRE(tempo::testing::run_cli({path}).status == 0);
  const auto folder = dir / "tiny/ck";
  std::string warnings;
  tempo::testing::CliResult second;
  {
    tempo::testing::CapturedStderr captured;
    second = tempo::testing::run_cli({path, "optimizers.adam.lr=0.5", "max_duration=6ba"});
    warnings = captured.text();
  }
  INFO(second.err);
  INFO(warnings);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("resumed from") != std::string::npos);
  CHECK(warnings.find("autoresume continues run 'tiny' with its checkpoint's values, not the config's, for "
                      "optimizers.adam.lr: 1.0e-2 (the config asks 0.5)") != std::string::npos);
  CHECK(warnings.find("autoresume continues run 'tiny' with these changes from its earlier config: max_duration: 4ba "
                      "-> 6ba") != std::string::npos);
  std::ifstream saved(folder + "/config.yaml");
  std::stringstream text;
  text << saved.rdbuf();
  CHECK(text.str().find("lr: 1.0e-2") != std::string::npos);  // what the optimizer runs with
  CHECK(text.str().find("max_duration: 6ba\n") != std::string::npos);
  // The same config again: nothing differs, nothing is said.
  tempo::testing::CapturedStderr again;
  REQUIRE(tempo::testing::run_cli({path, "max_duration=6ba"}).status == 0);
  CHECK(again.text().find("autoresume continues run") == std::string::npos);
}

TEST_CASE("the shipped MLP config shows a progress bar and keeps the resolved config off the screen") {
  auto r = tempo::testing::builtin_registry();
  const auto cfg = tempo::config::RunConfig::load(std::string(TEMPO_SOURCE_DIR) + "/configs/fashion_mnist_mlp.yaml", {}, r);
  CHECK(cfg.yaml().find("progress_bar:") != std::string::npos);
  const auto help = tempo::testing::run_cli({"--help"});
  CHECK(help.out.find("-v, --verbose") != std::string::npos);
}

TEST_CASE("tempo --version, --help and unknown commands") {
  CHECK(tempo::cli::version() == "tempo 0.1.0 (LibTorch " TORCH_VERSION ")");
  const char* version[] = {"tempo", "--version"};
  CHECK(tempo::cli::main(2, const_cast<char**>(version)) == 0);
  const char* unknown[] = {"tempo", "fly"};
  CHECK(tempo::cli::main(2, const_cast<char**>(unknown)) == 2);
  const char* none[] = {"tempo"};
  CHECK(tempo::cli::main(1, const_cast<char**>(none)) == 2);
  const auto help = tempo::testing::run_cli({"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("usage: tempo train CONFIG.yaml") == 0);
}
}
