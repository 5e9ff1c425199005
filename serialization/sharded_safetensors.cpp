#include "tempo/serialization/sharded_safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/util/json.h"
#include "tempo/util/regular_file.h"
#include "tempo/util/utf8.h"

namespace tempo {
namespace {

// Index files of real models are a few hundred KB; this bounds what an untrusted one may cost.
constexpr uint64_t kMaxIndexBytes = 100'000'000;

uint64_t tensor_bytes(const std::string& name, const at::Tensor& tensor, const std::string& where) {
  if (!tensor.defined()) throw CheckpointError(fmt::format("{}: tensor '{}' is undefined", where, name));
  return static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
}

std::string join_path(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

bool all_digits(const std::string& text, std::size_t begin, std::size_t end) {
  if (begin >= end) return false;
  for (std::size_t i = begin; i < end; ++i)
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  return true;
}

// ---- writing ----------------------------------------------------------------------------------

std::string index_text(const NamedTensors& tensors, const std::vector<SafetensorsShard>& shards, uint64_t total) {
  std::string text = fmt::format("{{\n  \"metadata\": {{\n    \"total_size\": {}\n  }},\n  \"weight_map\": {{", total);
  bool first = true;
  for (const auto& shard : shards) {
    for (const std::size_t i : shard.tensors) {
      text += first ? "\n    " : ",\n    ";
      text += json_quote(tensors[i].first) + ": " + json_quote(shard.file);
      first = false;
    }
  }
  text += "\n  }\n}\n";
  return text;
}

void remove_file(const std::string& path, Env& env) {
  if (env.unlink(path.c_str()) != 0 && errno != ENOENT)
    throw CheckpointError(fmt::format("cannot remove stale file '{}' of an earlier export: {}", path,
                                      std::strerror(errno)));
}

// Makes the removals durable, as AtomicFile does for renames.
void sync_folder(const std::string& folder, Env& env) {
  const int fd = env.open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    throw CheckpointError(fmt::format("cannot open folder '{}' to sync it: {}", folder, std::strerror(errno)));
  const int rc = env.fsync(fd);
  const int err = errno;
  env.close(fd);
  if (rc != 0 && err != EINVAL)  // some file systems cannot fsync a folder
    throw CheckpointError(fmt::format("cannot sync folder '{}': {}", folder, std::strerror(err)));
}

// The files of an export in `folder` (the single file, the index, shard names), as they are now.
std::set<std::string> export_files_in(const std::string& folder, Env& env) {
  std::error_code error;
  const auto children = env.list(folder, error);
  if (error) throw CheckpointError(fmt::format("cannot list folder '{}': {}", folder, error.message()));
  std::set<std::string> found;
  for (const auto& child : children) {
    if (child.type == std::filesystem::file_type::directory) continue;
    if (child.name == kSafetensorsSingleFile || child.name == kSafetensorsIndexFile ||
        is_safetensors_shard_name(child.name))
      found.insert(child.name);
  }
  return found;
}

// ---- reading ----------------------------------------------------------------------------------

std::string kind_name(const JsonValue& v) { return to_string(v.kind); }

// Why `name` may not name a shard file inside the folder, or "".
std::string bad_file_name(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "is not a file name";
  if (name.find('/') != std::string::npos) return "is a path, not a file name inside the folder";
  if (name.find('\0') != std::string::npos) return "contains a NUL byte";
  return "";
}

NamedTensors read_index(const std::string& folder, std::map<std::string, std::string>* metadata) {
  const std::string path = join_path(folder, kSafetensorsIndexFile);
  std::string text, why;
  if (!read_regular_file(path, kMaxIndexBytes, "a safetensors index", text, why))
    throw CheckpointError(fmt::format("{} {}", path, why));
  JsonValue root;
  try {
    root = parse_json(text, path, JsonReadOptions().integers_only(true));
  } catch (const JsonError& e) {
    throw CheckpointError(e.what());
  }
  if (root.kind != JsonValue::Kind::object)
    throw CheckpointError(fmt::format("{}: must be a JSON object, found {}", path, kind_name(root)));
  const JsonValue* meta = root.find("metadata");
  if (!meta || meta->kind != JsonValue::Kind::object)
    throw CheckpointError(fmt::format("{}: \"metadata\" must be an object holding \"total_size\", found {}", path,
                                      meta ? kind_name(*meta) : "none"));
  const JsonValue* total = meta->find("total_size");
  if (!total || total->kind != JsonValue::Kind::number || !total->integer || total->negative)
    throw CheckpointError(fmt::format("{}: metadata \"total_size\" must be a non-negative integer, found {}", path,
                                      total ? kind_name(*total) : "none"));
  const JsonValue* map = root.find("weight_map");
  if (!map || map->kind != JsonValue::Kind::object)
    throw CheckpointError(
        fmt::format("{}: \"weight_map\" must be an object of tensor name to shard file, found {}", path,
                    map ? kind_name(*map) : "none"));
  if (map->object.empty()) throw CheckpointError(fmt::format("{}: \"weight_map\" lists no tensors", path));

  // Shard file -> the tensors the index puts there (parse_json refuses a name listed twice).
  std::map<std::string, std::set<std::string>> listed;
  for (const auto& [name, file] : map->object) {
    if (file.kind != JsonValue::Kind::string)
      throw CheckpointError(
          fmt::format("{}: weight_map entry '{}' must be a file name string, found {}", path, name, kind_name(file)));
    if (const auto fault = bad_file_name(file.string); !fault.empty())
      throw CheckpointError(fmt::format("{}: weight_map entry '{}' names shard '{}', which {}", path, name,
                                        file.string, fault));
    listed[file.string].insert(name);
  }
  for (const auto& [file, names] : listed) {
    struct stat st {};
    const std::string shard = join_path(folder, file);
    const bool exists = ::stat(shard.c_str(), &st) == 0;
    if (!exists || !S_ISREG(st.st_mode))
      throw CheckpointError(fmt::format("{}: weight_map names shard '{}' (for tensor '{}'), which {} in the folder",
                                        path, file, *names.begin(),
                                        exists ? "is not a regular file" : "does not exist"));
  }

  NamedTensors tensors;
  std::map<std::string, std::string> seen;  // tensor name -> the shard it was found in
  uint64_t bytes = 0;
  bool first = true;
  for (const auto& [file, names] : listed) {  // std::map: shard-file-name order
    const std::string shard = join_path(folder, file);
    std::map<std::string, std::string> shard_metadata;
    auto found = read_safetensors(shard, &shard_metadata);
    if (first && metadata) *metadata = std::move(shard_metadata);
    first = false;
    std::set<std::string> missing = names;
    for (auto& [name, tensor] : found) {
      if (const auto it = seen.find(name); it != seen.end())
        throw CheckpointError(fmt::format("{}: tensor '{}' is in both shard '{}' and shard '{}'", path, name,
                                          it->second, file));
      seen.emplace(name, file);
      if (!missing.erase(name)) {
        const JsonValue* listed_in = map->find(name);
        throw CheckpointError(
            listed_in ? fmt::format("{}: tensor '{}' is listed in shard '{}' but also found in shard '{}'", path,
                                    name, listed_in->string, file)
                      : fmt::format("{}: shard '{}' holds tensor '{}', which weight_map does not list", path, file,
                                    name));
      }
      bytes += static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
      tensors.emplace_back(name, std::move(tensor));
    }
    if (!missing.empty())
      throw CheckpointError(fmt::format("{}: tensor '{}' is listed in shard '{}' but that shard does not hold it",
                                        path, *missing.begin(), file));
  }
  if (bytes != total->magnitude)
    throw CheckpointError(fmt::format("{}: metadata total_size is {} but the listed tensors hold {} bytes", path,
                                      total->magnitude, bytes));
  return tensors;
}

}  // namespace

bool is_safetensors_shard_name(const std::string& name) {
  // model-NNNNN-of-NNNNN.safetensors (5 digits or more: Python's {:05d})
  static const std::string prefix = "model-", middle = "-of-", suffix = ".safetensors";
  if (name.size() < prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::size_t end = name.size() - suffix.size();
  const std::size_t of = name.find(middle, prefix.size());
  if (of == std::string::npos || of > end) return false;
  return of - prefix.size() >= 5 && end - (of + middle.size()) >= 5 && all_digits(name, prefix.size(), of) &&
         all_digits(name, of + middle.size(), end);
}

std::vector<SafetensorsShard> plan_safetensors_shards(const NamedTensors& tensors, uint64_t max_shard_size) {
  if (max_shard_size == 0) throw CheckpointError("max_shard_size must be at least 1 byte");
  std::vector<SafetensorsShard> shards;
  std::set<std::string> names;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    if (!names.insert(name).second) throw CheckpointError(fmt::format("tensor '{}' given twice", name));
    const uint64_t bytes = tensor_bytes(name, tensor, "sharded safetensors export");
    // transformers' shard_checkpoint: split before a tensor that would tip a non-empty shard over.
    if (shards.empty() || (!shards.back().tensors.empty() && shards.back().bytes + bytes > max_shard_size))
      shards.emplace_back();
    shards.back().tensors.push_back(i);
    shards.back().bytes += bytes;
  }
  if (shards.empty()) shards.emplace_back();  // no tensors: one empty model.safetensors
  if (shards.size() == 1) {
    shards[0].file = kSafetensorsSingleFile;
  } else {
    for (std::size_t k = 0; k < shards.size(); ++k)
      shards[k].file = fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, shards.size());
  }
  return shards;
}

std::vector<SafetensorsShard> write_sharded_safetensors(const NamedTensors& tensors,
                                                        const std::map<std::string, std::string>& metadata,
                                                        const std::string& folder, uint64_t max_shard_size,
                                                        Env& env) {
  auto shards = plan_safetensors_shards(tensors, max_shard_size);
  for (const auto& [name, tensor] : tensors)
    if (!is_valid_utf8(name)) throw CheckpointError(fmt::format("{}: a tensor name is not valid UTF-8", folder));
  std::error_code error;
  env.create_directories(folder, error);
  if (error) throw CheckpointError(fmt::format("cannot create folder '{}': {}", folder, error.message()));

  const bool sharded = shards.size() > 1;
  const auto before = export_files_in(folder, env);
  std::set<std::string> written;
  for (const auto& shard : shards) written.insert(shard.file);
  // An old index may name a shard about to be overwritten: with it gone, a reader finds no
  // weights for a moment rather than old and new tensors mixed.
  if (sharded && before.count(kSafetensorsIndexFile)) {
    for (const auto& file : written) {
      if (before.count(file)) {
        remove_file(join_path(folder, kSafetensorsIndexFile), env);
        break;
      }
    }
  }
  uint64_t total = 0;
  for (const auto& shard : shards) {
    NamedTensors part;
    part.reserve(shard.tensors.size());
    for (const std::size_t i : shard.tensors) part.push_back(tensors[i]);
    write_safetensors(part, metadata, join_path(folder, shard.file), env);
    total += shard.bytes;
  }
  if (sharded) {
    const std::string text = index_text(tensors, shards, total);
    AtomicFile index(join_path(folder, kSafetensorsIndexFile), env, "safetensors index");
    index.write(text.data(), text.size());
    index.commit();
    written.insert(kSafetensorsIndexFile);
  }
  // model.safetensors first: a reader prefers it to the index, so until it goes it still shows the
  // complete old export.
  bool removed = false;
  if (sharded && before.count(kSafetensorsSingleFile)) {
    remove_file(join_path(folder, kSafetensorsSingleFile), env);
    removed = true;
  }
  if (!sharded && before.count(kSafetensorsIndexFile)) {
    remove_file(join_path(folder, kSafetensorsIndexFile), env);
    removed = true;
  }
  for (const auto& file : before) {
    if (!written.count(file) && is_safetensors_shard_name(file)) {
      remove_file(join_path(folder, file), env);
      removed = true;
    }
  }
  if (removed) sync_folder(folder, env);
  return shards;
}

NamedTensors read_safetensors_folder(const std::string& folder, std::map<std::string, std::string>* metadata) {
  struct stat st {};
  const std::string single = join_path(folder, kSafetensorsSingleFile);
  if (::stat(single.c_str(), &st) == 0) return read_safetensors(single, metadata);
  if (::stat(join_path(folder, kSafetensorsIndexFile).c_str(), &st) == 0) return read_index(folder, metadata);
  throw CheckpointError(fmt::format("folder '{}' holds neither {} nor {}, so it has no safetensors weights", folder,
                                    kSafetensorsSingleFile, kSafetensorsIndexFile));
}

uint64_t parse_file_size(const std::string& text, const std::string& what) {
  const auto fail = [&](const std::string& fault) {
    return ConfigError(fmt::format("{}: '{}' {}; expected a whole number of bytes, alone or followed by KB, MB, GB, "
                                   "TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), such as 500MB or 2GiB",
                                   what, text, fault));
  };
  std::size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  std::size_t digits = begin;
  while (digits < end && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == begin) throw fail("does not start with a number");
  std::size_t unit_begin = digits;
  while (unit_begin < end && std::isspace(static_cast<unsigned char>(text[unit_begin]))) ++unit_begin;
  std::string unit = text.substr(unit_begin, end - unit_begin);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},           {"B", 1},           {"KB", 1'000},      {"MB", 1'000'000},  {"GB", 1'000'000'000},
      {"TB", 1'000'000'000'000}, {"KIB", 1ull << 10}, {"MIB", 1ull << 20}, {"GIB", 1ull << 30}, {"TIB", 1ull << 40},
  };
  const auto* found = std::find_if(std::begin(kUnits), std::end(kUnits),
                                   [&](const auto& u) { return unit == u.first; });
  if (found == std::end(kUnits))
    throw fail(text[digits] == '.' ? "is not a whole number"
                                   : "has an unknown unit '" + text.substr(unit_begin, end - unit_begin) + "'");
  uint64_t value = 0;
  bool overflow = false;
  for (std::size_t i = begin; i < digits; ++i) {
    overflow |= __builtin_mul_overflow(value, uint64_t{10}, &value);
    overflow |= __builtin_add_overflow(value, static_cast<uint64_t>(text[i] - '0'), &value);
  }
  overflow |= __builtin_mul_overflow(value, found->second, &value);
  if (overflow) throw fail("does not fit 64 bits");
  if (value == 0) throw fail("is zero; the size must be at least 1 byte");
  return value;
}

}  // namespace tempo
