#include "serialization/weights_file.h"

#include <filesystem>
#include <fstream>

#include "serialization/safetensors.h"

namespace tempo {
namespace {

// By name, or by content: a u64 header length, then the JSON header's '{'. A zip starts with
// "PK" instead.
bool looks_like_safetensors(const std::string& path) {
  if (std::filesystem::path(path).extension() == ".safetensors") return true;
  std::ifstream in(path, std::ios::binary);
  char head[9] = {};
  if (!in.read(head, sizeof head)) return false;
  return !(head[0] == 'P' && head[1] == 'K') && head[8] == '{';
}

// Composer's anatomy: a string-keyed "state" dict holding one of the keys below (not None).
bool has_tempo_anatomy(const c10::IValue& tree) {
  const auto string_keyed = [](const c10::IValue& v) {
    return v.isGenericDict() && v.toGenericDict().keyType()->kind() == c10::TypeKind::StringType;
  };
  if (!string_keyed(tree)) return false;
  const auto top = tree.toGenericDict();
  const auto state = top.find("state");
  if (state == top.end() || !string_keyed(state->value())) return false;
  const auto members = state->value().toGenericDict();
  for (const char* key : {"model", "timestamp", "metadata", "run_name"}) {
    const auto it = members.find(key);
    if (it != members.end() && !it->value().isNone()) return true;
  }
  return false;
}

}  // namespace

WeightsFile open_weights_file(const std::string& path, const CheckpointProgressFn& progress) {
  WeightsFile file;
  if (looks_like_safetensors(path)) {
    auto dict = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
    for (auto& [name, tensor] : read_safetensors(path, &file.metadata)) dict.insert(name, tensor);
    file.format = "safetensors";
    file.tree = dict;
    return file;
  }
  file.tree = read_checkpoint(path, progress);
  file.format = has_tempo_anatomy(file.tree) ? "tempo" : "torch";
  return file;
}

}  // namespace tempo
