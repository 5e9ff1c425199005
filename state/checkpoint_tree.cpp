#include "tempo/state/checkpoint_tree.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include "tempo/errors/error.h"
#include "tempo/state/rng.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

bool matches_any(const std::string& path, const std::vector<std::string>& globs) {
  for (const auto& glob : globs) {
    if (fnmatch(glob.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

std::string key_string(const c10::IValue& key) {
  return key.isString() ? key.toStringRef() : std::to_string(key.toInt());
}

c10::IValue remove_below(const c10::IValue& value, const std::string& path, const std::vector<std::string>& globs) {
  if (!value.isGenericDict()) return value;
  auto dict = value.toGenericDict();
  auto copy = dict.copy();
  for (const auto& entry : dict) {
    const auto child = tree_join(path, key_string(entry.key()));
    if (matches_any(child, globs)) {
      (void)copy.erase(entry.key());
    } else if (entry.value().isGenericDict()) {
      copy.insert_or_assign(entry.key(), remove_below(entry.value(), child, globs));
    }
  }
  return copy;
}

bool is_bare_weights(const TreeDict& dict) {
  if (dict.size() == 0) return false;
  for (const auto& entry : dict) {
    if (!entry.key().isString() || !entry.value().isTensor()) return false;
  }
  return true;
}

}  // namespace

c10::IValue make_checkpoint_tree(const State& state, bool weights_only) {
  auto checkpoint = new_tree_dict();
  auto full = state.state_dict().toGenericDict();
  if (weights_only) {
    auto slim = new_tree_dict();
    slim.insert("model", full.at("model"));
    slim.insert("metadata", full.at("metadata"));
    checkpoint.insert("state", slim);
  } else {
    checkpoint.insert("state", full);
    checkpoint.insert("rng", state.checkpoint_rng());
  }
  c10::IValue tree = checkpoint;
  for (const auto& hook : state.save_state_pre_hooks) hook(tree);
  return tree;
}

c10::IValue remove_matching_keys(const c10::IValue& tree, const std::vector<std::string>& globs) {
  return globs.empty() ? tree : remove_below(tree, "", globs);
}

CheckpointLoadResult load_checkpoint_tree(State& state, const c10::IValue& read, const std::string& source,
                                          const CheckpointLoadOptions& options) {
  c10::IValue tree = read;
  for (const auto& hook : state.load_state_pre_hooks) hook(tree);
  try {
    if (!tree.isGenericDict()) {
      throw CheckpointError(fmt::format("the file holds a {}, not a dict", tree.tagKind()));
    }
    auto dict = tree.toGenericDict();
    if (!tree_has(dict, "state") && is_bare_weights(dict)) {
      if (!options.weights_only) {
        throw CheckpointError(
            "it holds bare model weights (a model.state_dict() or safetensors file), not a training checkpoint: "
            "set load_weights_only to load them");
      }
      auto state_tree = new_tree_dict();
      state_tree.insert("model", tree);
      dict = new_tree_dict();
      dict.insert("state", state_tree);
    }
    if (!tree_has(dict, "state")) {
      throw CheckpointError("it has no 'state' entry: expected a tempo or Composer checkpoint {'state': ..., 'rng': ...}");
    }
    CheckpointLoadResult result;
    result.weights_only = options.weights_only;
    if (!options.weights_only) {
      // Composer: a checkpoint saved with save_weights_only loads as weights only, flag or not.
      auto state_dict = tree_dict(tree_at(dict, "state", ""), "state");
      result.weights_only = !tree_has(state_dict, "timestamp") && !tree_has(state_dict, "optimizers");
      result.weights_only_file = result.weights_only;
    }

    dict = remove_matching_keys(dict, options.ignore_keys).toGenericDict();
    if (!result.weights_only && tree_has(dict, "rng")) {
      auto list = tree_at(dict, "rng", "");
      if (!list.isList()) throw CheckpointError("'rng' should be a list with one entry per rank");
      const auto ranks = list.toList();
      result.rng_ranks = static_cast<int64_t>(ranks.size());
      const auto rank_path = fmt::format("rng/{}", state.rank);
      if (state.rank < static_cast<int64_t>(ranks.size())) {
        auto entry = tree_dict(ranks.get(state.rank), rank_path);
        if (tree_has(entry, "torch")) {
          if (tree_tensor(entry, "torch", rank_path).scalar_type() != at::kByte) {
            throw CheckpointError(fmt::format("'{}/torch' should be a uint8 tensor", rank_path));
          }
          result.rng = entry;
        }
      }
    }
    if (!tree_has(dict, "state")) return result;  // every part ignored
    StateLoadOptions state_options;
    state_options.weights_only = result.weights_only;
    state_options.strict_model_weights = options.strict_model_weights;
    result.report = state.load_state_dict(tree_at(dict, "state", ""), state_options);
    return result;
  } catch (const CheckpointError& e) {
    throw CheckpointError(fmt::format("cannot load checkpoint '{}': {}", source, e.what()));
  }
}

}  // namespace tempo
