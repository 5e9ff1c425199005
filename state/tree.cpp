#include "tempo/state/tree.h"

#include <fmt/format.h>

#include <cmath>

#include "tempo/errors/error.h"

namespace tempo {

TreeDict new_tree_dict() { return TreeDict(c10::StringType::get(), c10::AnyType::get()); }

TreeDict new_int_key_dict() { return TreeDict(c10::IntType::get(), c10::AnyType::get()); }

std::string tree_join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "/" + key;
}

TreeDict tree_dict(const c10::IValue& value, const std::string& path) {
  if (!value.isGenericDict()) {
    throw CheckpointError(fmt::format("state tree: '{}' should be a dict but is a {}", path,
                                      value.tagKind()));
  }
  return value.toGenericDict();
}

bool tree_has(const TreeDict& dict, const std::string& key) { return dict.contains(key); }

c10::IValue tree_at(const TreeDict& dict, const std::string& key, const std::string& path) {
  auto it = dict.find(key);
  if (it == dict.end()) {
    throw CheckpointError(fmt::format("state tree: missing key '{}'", tree_join(path, key)));
  }
  return it->value();
}

int64_t tree_int(const TreeDict& dict, const std::string& key, const std::string& path) {
  auto value = tree_at(dict, key, path);
  if (value.isInt()) return value.toInt();
  if (value.isBool()) return value.toBool() ? 1 : 0;
  if (value.isTensor() && value.toTensor().numel() == 1) {
    // PyTorch keeps optimizer step counts as float tensors.
    return std::llround(value.toTensor().item<double>());
  }
  throw CheckpointError(fmt::format("state tree: '{}' should be an integer but is a {}",
                                    tree_join(path, key), value.tagKind()));
}

double tree_double(const TreeDict& dict, const std::string& key, const std::string& path) {
  auto value = tree_at(dict, key, path);
  if (value.isDouble()) return value.toDouble();
  if (value.isInt()) return static_cast<double>(value.toInt());
  if (value.isTensor() && value.toTensor().numel() == 1) return value.toTensor().item<double>();
  throw CheckpointError(fmt::format("state tree: '{}' should be a number but is a {}",
                                    tree_join(path, key), value.tagKind()));
}

std::string tree_string(const TreeDict& dict, const std::string& key, const std::string& path) {
  auto value = tree_at(dict, key, path);
  if (value.isString()) return value.toStringRef();
  throw CheckpointError(fmt::format("state tree: '{}' should be a string but is a {}",
                                    tree_join(path, key), value.tagKind()));
}

at::Tensor tree_tensor(const TreeDict& dict, const std::string& key, const std::string& path) {
  auto value = tree_at(dict, key, path);
  if (value.isTensor()) return value.toTensor();
  throw CheckpointError(fmt::format("state tree: '{}' should be a tensor but is a {}",
                                    tree_join(path, key), value.tagKind()));
}

}  // namespace tempo
