// Helpers for the state tree: the c10::IValue of nested dicts, lists, scalars and tensors that
// State::state_dict() produces and a checkpoint stores. Dicts keep insertion order, so trees
// come out in Composer's key order. Readers go through tree_at(), which throws CheckpointError
// naming the path ("state/timestamp/epoch") of a missing or mistyped entry.
#pragma once

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <string>

namespace tempo {

using TreeDict = c10::impl::GenericDict;

// A dict with string keys and values of any type.
TreeDict new_tree_dict();
// A dict with integer keys, as PyTorch's optimizer "state" uses.
TreeDict new_int_key_dict();

// The dict at `value`, or CheckpointError naming `path`.
TreeDict tree_dict(const c10::IValue& value, const std::string& path);
bool tree_has(const TreeDict& dict, const std::string& key);
// dict[key], or CheckpointError naming `path/key`.
c10::IValue tree_at(const TreeDict& dict, const std::string& key, const std::string& path);
int64_t tree_int(const TreeDict& dict, const std::string& key, const std::string& path);
double tree_double(const TreeDict& dict, const std::string& key, const std::string& path);
std::string tree_string(const TreeDict& dict, const std::string& key, const std::string& path);
at::Tensor tree_tensor(const TreeDict& dict, const std::string& key, const std::string& path);

// "a/b" without a leading slash when `path` is empty.
std::string tree_join(const std::string& path, const std::string& key);

}  // namespace tempo
