#include "tempo/cli/export.h"
#include "tempo/cli/export_torchscript.h"
#include "tempo/cli/remote_input.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "tempo/errors/error.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/serialization/sharded_safetensors.h"
#include "tempo/serialization/weights_file.h"
#include "tempo/state/version.h"

namespace tempo::cli {
namespace {

// The version recorded in exported files' metadata (the project's version, as in CMakeLists.txt
// and the checkpoints' state/metadata/tempo_version).

const char* const kFormats = "safetensors, torchscript";

const char* const kUsage =
    "usage: tempo export CHECKPOINT [--format safetensors] [--max-shard-size SIZE] [--force] OUT\n"
    "       tempo export CHECKPOINT --format torchscript [--module MODULE] [--force] OUT\n"
    "\n"
    "Writes a checkpoint's model weights (state/model of a tempo checkpoint, a model state_dict\n"
    "saved by torch.save, or a safetensors file's tensors) to OUT, in the tree's order, with\n"
    "metadata {\"format\": \"pt\", \"source\": CHECKPOINT, \"tempo_version\": ...}.\n"
    "OUT is written atomically, as a new file or over a safetensors file; anything else at OUT\n"
    "(another file, a checkpoint, a link, a device) is left alone unless --force allows a regular file.\n"
    "With --max-shard-size, OUT is a folder (created if missing) laid out as Hugging Face's save_pretrained\n"
    "and Accelerate's save_model write it: model.safetensors, or model-00001-of-0000N.safetensors ... and\n"
    "model.safetensors.index.json; files of an earlier export there that this one does not write are removed.\n"
    "\n"
    "options:\n"
    "  --format FORMAT   output format; supported: safetensors (the default), torchscript (the run's\n"
    "                    TorchScript module with the checkpoint's weights: see --module)\n"
    "  --module MODULE   torchscript: the module file to fill; default: the one the checkpoint was trained\n"
    "                    from (state/metadata), if unchanged since. Names, shapes and dtypes must match.\n"
    "  --max-shard-size SIZE  split the weights into shards of at most SIZE bytes (a larger tensor\n"
    "                    goes alone in its shard): 500MB, 2GB (powers of 1000), 1GiB, 64KiB, 4096\n"
    "  --force           replace OUT even when it is not a safetensors file (a training checkpoint)\n"
    "  --help            show this help\n";

// Python's name for the kind of `v`, for messages.
std::string kind_of(const c10::IValue& v) {
  static const std::map<std::string, std::string> names{
      {"GenericDict", "dict"}, {"GenericList", "list"}, {"Tuple", "tuple"}, {"String", "str"},
      {"Double", "float"},     {"Int", "int"},          {"Bool", "bool"},   {"None", "None"}};
  const auto it = names.find(v.tagKind());
  return it == names.end() ? v.tagKind() : it->second;
}

// The dict of name -> tensor holding the model's weights in `file`, or CheckpointError saying
// why there is none.
NamedTensors model_weights(const std::string& path, const WeightsFile& file) {
  const auto& tree = file.tree;
  if (!tree.isGenericDict())
    throw CheckpointError(fmt::format("'{}' holds a {}, not a checkpoint or a model state_dict", path, kind_of(tree)));
  auto dict = tree.toGenericDict();
  std::string where;  // the path of the weights inside the file, for messages
  if (file.format == "tempo") {
    const auto state = dict.at("state").toGenericDict();
    const auto model = state.find("model");
    if (model == state.end())
      throw CheckpointError(fmt::format("'{}' has no state/model, so there are no weights to export", path));
    if (!model->value().isGenericDict())
      throw CheckpointError(
          fmt::format("'{}': state/model is a {}, expected a dict of tensors", path, kind_of(model->value())));
    dict = model->value().toGenericDict();
    where = "state/model/";
  }
  NamedTensors tensors;
  for (const auto& entry : dict) {
    const auto& key = entry.key();
    const std::string name = key.isString() ? key.toStringRef() : key.isInt() ? std::to_string(key.toInt()) : "?";
    if (!key.isString() || !entry.value().isTensor()) {
      const auto* what = file.format == "tempo" ? "state/model must map names to tensors"
                                                : "expected a tempo checkpoint (with state/model) or a model "
                                                  "state_dict (names to tensors)";
      throw CheckpointError(fmt::format("'{}': entry '{}{}' is a {}; {}", path, where, name,
                                        key.isString() ? kind_of(entry.value()) : kind_of(key) + " key", what));
    }
    tensors.emplace_back(name, entry.value().toTensor());
  }
  if (tensors.empty()) throw CheckpointError(fmt::format("'{}' holds no model weights to export", path));
  return tensors;
}

std::string refuse_target(const std::string& source, const std::string& target, bool force) {
  return refuse_export_target(source, target, force, "safetensors", starts_as_safetensors);
}

// refuse_target for --max-shard-size, where OUT is a folder: a new path or a folder (never a link,
// a file or CHECKPOINT itself), in which each file the export may replace or remove (the single
// file, the shards, the index) passes refuse_target, the index being a regular file.
std::string refuse_folder(const std::string& source, const std::string& named, bool force) {
  // "out/" would make lstat follow a link named out: look at the name without its slashes.
  std::string target = named;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  struct stat out {};
  if (::lstat(target.c_str(), &out) != 0) {
    if (errno == ENOENT) return "";
    return fmt::format("cannot check OUT '{}': {}", target, std::strerror(errno));
  }
  if (S_ISLNK(out.st_mode)) return fmt::format("OUT '{}' is a symbolic link; name the folder itself", target);
  if (!S_ISDIR(out.st_mode)) {
    return fmt::format("OUT '{}' exists and is not a folder; with --max-shard-size OUT is the folder to write "
                       "the shards to", target);
  }
  struct stat in {};
  if (::stat(source.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
    return fmt::format("OUT '{}' is CHECKPOINT itself; choose another folder", target);
  }
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(target, error)) {
    const auto name = entry.path().filename().string();
    const auto path = entry.path().string();
    if (name == kSafetensorsIndexFile) {
      struct stat index {};
      if (::lstat(path.c_str(), &index) != 0 || !S_ISREG(index.st_mode))
        return fmt::format("OUT '{}' exists and is not a regular file; export replaces it", path);
    } else if (name == kSafetensorsSingleFile || is_safetensors_shard_name(name)) {
      if (auto why = refuse_target(source, path, force); !why.empty()) return why;
    }
  }
  if (error) return fmt::format("cannot list OUT '{}': {}", target, error.message());
  return "";
}

std::string message_of(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return c10_error ? c10_error->what_without_backtrace() : e.what();
}

}  // namespace

std::string refuse_export_target(const std::string& source, const std::string& target, bool force,
                                 const std::string& kind, const std::function<bool(const std::string&)>& is_kind) {
  struct stat out {};
  if (::lstat(target.c_str(), &out) != 0) {
    if (errno == ENOENT) return "";
    return fmt::format("cannot check OUT '{}': {}", target, std::strerror(errno));
  }
  if (S_ISLNK(out.st_mode)) return fmt::format("OUT '{}' is a symbolic link; name the file itself", target);
  if (!S_ISREG(out.st_mode)) {
    return fmt::format("OUT '{}' exists and is not a regular file; export writes a new file or replaces a {} file",
                       target, kind);
  }
  struct stat in {};
  if (::stat(source.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
    return fmt::format("OUT '{}' is CHECKPOINT itself; choose another name", target);
  }
  if (force || out.st_size == 0 || is_kind(target)) return "";
  return fmt::format("OUT '{}' exists and is not a {} file (a training checkpoint?); pass --force to replace it",
                     target, kind);
}

int run_export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string format = "safetensors";
  std::string module;  // --module, for --format torchscript
  bool force = false;
  std::optional<uint64_t> max_shard_size;  // set: OUT is a folder of shards
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out << kUsage;
      return 0;
    } else if (arg == "--format" || arg == "-f") {
      if (i + 1 == args.size()) {
        err << "tempo export: " << arg << " needs a value (supported: " << kFormats << ")\n" << kUsage;
        return 2;
      }
      format = args[++i];
    } else if (arg == "--module" || arg.rfind("--module=", 0) == 0) {
      if (arg == "--module" && i + 1 == args.size()) {
        err << "tempo export: --module needs a value (the TorchScript module file)\n" << kUsage;
        return 2;
      }
      module = arg == "--module" ? args[++i] : arg.substr(9);
    } else if (arg == "--force") {
      force = true;
    } else if (arg.rfind("--format=", 0) == 0) {
      format = arg.substr(9);
    } else if (arg == "--max-shard-size" || arg.rfind("--max-shard-size=", 0) == 0) {
      if (arg == "--max-shard-size" && i + 1 == args.size()) {
        err << "tempo export: --max-shard-size needs a value (such as 500MB or 2GB)\n" << kUsage;
        return 2;
      }
      try {
        max_shard_size = parse_file_size(arg == "--max-shard-size" ? args[++i] : arg.substr(17), "--max-shard-size");
      } catch (const ConfigError& e) {
        err << "tempo export: " << e.what() << "\n";
        return 2;
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      err << "tempo export: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    err << "tempo export: expected CHECKPOINT and OUT, got " << positional.size() << " argument"
        << (positional.size() == 1 ? "" : "s") << "\n"
        << kUsage;
    return 2;
  }
  if (format == "torchscript" && !max_shard_size) {
    return export_torchscript(positional[0], positional[1], module, force, out, err);  // cli/export_torchscript.h
  }
  if (format == "torchscript" || !module.empty()) {
    err << "tempo export: " << (module.empty() ? "--max-shard-size" : "--module") << " does not apply to --format "
        << format << "\n";
    return 2;
  }
  if (format != "safetensors") {
    err << "tempo export: unsupported format '" << format << "'; supported formats: " << kFormats << "\n";
    return 2;
  }
  const auto& source = positional[0];
  const auto& target = positional[1];
  if (const auto why = max_shard_size ? refuse_folder(source, target, force) : refuse_target(source, target, force);
      !why.empty()) {
    err << "tempo export: " << why << "\n";
    return 2;
  }
  try {
    const RemoteInput input(source);  // a URI is downloaded first
    const auto tensors = model_weights(source, open_weights_file(input.local()));
    uint64_t bytes = 0;
    for (const auto& [name, tensor] : tensors) bytes += static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    const std::map<std::string, std::string> metadata{
        {"format", "pt"}, {"source", source}, {"tempo_version", kTempoVersion}};
    if (max_shard_size) {
      const auto shards = write_sharded_safetensors(tensors, metadata, target, *max_shard_size);
      out << fmt::format("exported {} tensors ({} bytes) to {} in {} shard{} ({}{})\n", tensors.size(), bytes, target,
                         shards.size(), shards.size() == 1 ? "" : "s", shards[0].file,
                         shards.size() == 1 ? "" : fmt::format(" ... and {}", kSafetensorsIndexFile));
      return 0;
    }
    write_safetensors(tensors, metadata, target);
    out << fmt::format("exported {} tensors ({} bytes) to {}\n", tensors.size(), bytes, target);
    return 0;
  } catch (const std::exception& e) {
    const auto message = message_of(e);
    err << "tempo export: " << (message.find(source) == std::string::npos ? "'" + source + "': " : "") << message
        << "\n";
    return 2;
  }
}

int export_command(const std::vector<std::string>& args) { return run_export(args, std::cout, std::cerr); }

}  // namespace tempo::cli
