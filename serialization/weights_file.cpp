#include "tempo/serialization/weights_file.h"

#include <unistd.h>

#include <filesystem>

#include "tempo/serialization/safetensors.h"
#include "tempo/serialization/sharded_safetensors.h"
#include "tempo/util/regular_file.h"

namespace tempo {
namespace {

// By name, or by content (starts_as_safetensors). A path that is not a regular file is left to
// read_checkpoint, which refuses it by name.
bool looks_like_safetensors(const std::string& path) {
  return std::filesystem::path(path).extension() == ".safetensors" || starts_as_safetensors(path);
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

// A u64 header length, then the JSON header's '{'; a zip starts with "PK" instead.
bool starts_as_safetensors(const std::string& path) {
  std::string why;
  const int fd = open_regular_file(path, why);
  if (fd < 0) return false;
  char head[9] = {};
  const bool whole = ::pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head);
  ::close(fd);
  return whole && !(head[0] == 'P' && head[1] == 'K') && head[8] == '{';
}

WeightsFile open_weights_file(const std::string& path, const CheckpointProgressFn& progress) {
  WeightsFile file;
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    auto dict = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
    for (auto& [name, tensor] : read_safetensors_folder(path, &file.metadata)) dict.insert(name, tensor);
    file.format = "safetensors";
    file.tree = dict;
    return file;
  }
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
