// Helpers for the configs suite: a small, fast config on synthetic data, and running the CLI
// in-process with captured output.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tempo/cli/train.h"
#include "tempo/configs/registry.h"
#include "tempo/configs/run_config.h"
#include "tempo/errors/error.h"
#include "support/fixtures.h"

namespace tempo::testing {

// 4 batches of 16 on 64 synthetic 8-feature samples, an MLP, Adam.
inline std::string tiny_config(const std::string& extra = "") {
  return "run_name: tiny\n"
         "seed: 5\n"
         "max_duration: 4ba\n"
         "model:\n"
         "  mlp: {in_features: 8, hidden: [16], num_classes: 2}\n"
         "train_loader:\n"
         "  synthetic: {num_samples: 64, shape: [8], num_classes: 2, batch_size: 16, shuffle: true}\n"
         "optimizers:\n"
         "  adam: {lr: 1.0e-2}\n" +
         extra;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline config::Registry builtin_registry() {
  config::Registry r;
  config::register_builtins(r);
  return r;
}

// The message of the ConfigError that resolving (and building) `text` throws, or "" if none.
inline std::string config_error(const std::string& text, const std::vector<std::string>& overrides = {},
                                const config::Registry& r = builtin_registry()) {
  try {
    config::RunConfig::parse(text, "run.yaml", overrides, r).build(r);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

struct CliResult {
  int status;
  std::string out;
  std::string err;
};

inline CliResult run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int status = cli::run_train(args, out, err);
  return {status, out.str(), err.str()};
}

}  // namespace tempo::testing
