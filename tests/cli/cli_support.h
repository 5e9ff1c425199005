// Helpers for the cli tests: a small tree shaped like a real tempo checkpoint, and running a
// command in-process with its output captured.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tempo/state/tree.h"

namespace tempo::testing {

struct CommandResult {
  int status = 0;
  std::string out;
  std::string err;
};

template <typename Command>
CommandResult run_command(Command command, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CommandResult r;
  r.status = command(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Composer's anatomy in small: a two-layer model, an Adam-like optimizer with per-parameter
// state, a timestamp, run name, seed, versions and an RNG state.
inline c10::IValue checkpoint_tree() {
  auto model = new_tree_dict();
  model.insert("fc1.weight", torch::arange(128, torch::kFloat).reshape({16, 8}));
  model.insert("fc1.bias", torch::linspace(-1, 1, 16));
  model.insert("fc2.weight", torch::ones({2, 16}, torch::kDouble));
  model.insert("fc2.bias", torch::tensor({1.5f, std::numeric_limits<float>::quiet_NaN()}));

  auto opt_state = new_int_key_dict();
  for (int64_t i = 0; i < 4; ++i) {
    auto entry = new_tree_dict();
    entry.insert("step", torch::tensor(3.0));
    entry.insert("exp_avg", torch::zeros({3}));
    opt_state.insert(i, entry);
  }
  auto group = new_tree_dict();
  group.insert("lr", 0.001);
  group.insert("betas", c10::ivalue::Tuple::create({0.9, 0.999}));
  group.insert("eps", std::numeric_limits<double>::infinity());
  auto params = c10::impl::GenericList(c10::IntType::get());
  for (int64_t i = 0; i < 4; ++i) params.push_back(i);
  group.insert("params", params);
  auto groups = c10::impl::GenericList(c10::AnyType::get());
  groups.push_back(group);
  auto adam = new_tree_dict();
  adam.insert("state", opt_state);
  adam.insert("param_groups", groups);
  auto optimizers = new_tree_dict();
  optimizers.insert("Adam", adam);

  auto timestamp = new_tree_dict();
  for (auto [key, value] : std::vector<std::pair<const char*, int64_t>>{
           {"iteration", 0}, {"epoch", 2}, {"batch", 30}, {"sample", 480}, {"batch_in_epoch", 6}})
    timestamp.insert(key, value);
  timestamp.insert("total_wct", 1.25);

  auto metadata = new_tree_dict();
  metadata.insert("tempo_version", "0.1.0");
  metadata.insert("torch_version", "1.13.1");

  auto state = new_tree_dict();
  state.insert("model", model);
  state.insert("optimizers", optimizers);
  state.insert("scaler", c10::IValue());
  state.insert("timestamp", timestamp);
  state.insert("rank_zero_seed", int64_t{17});
  state.insert("run_name", "r \"quoted\"\n");
  state.insert("metadata", metadata);

  auto rng = new_tree_dict();
  rng.insert("torch", torch::zeros({5056}, torch::kByte));
  auto rng_list = c10::impl::GenericList(c10::AnyType::get());
  rng_list.push_back(rng);

  auto top = new_tree_dict();
  top.insert("state", state);
  top.insert("rng", rng_list);
  return top;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace tempo::testing
