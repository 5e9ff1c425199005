// Loading and resolving a config: the checks that need no part to be built. Every error names
// its location through ConfigNode::where(), so this file never sees yaml-cpp.
#include "tempo/configs/run_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>

namespace tempo::config {

namespace {

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "(none yet)";
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string hint(const std::string& key, const std::vector<std::string>& candidates) {
  auto best = did_you_mean(key, candidates);
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

// Throws unless `node` converts to `type` (see KeySpec).
void check_type(const ConfigNode& node, const std::string& type) {
  if (type == "string") node.as<std::string>();
  else if (type == "int") node.as<int64_t>();
  else if (type == "uint") node.as<uint64_t>();
  else if (type == "float") node.as<double>();
  else if (type == "bool") node.as<bool>();
  else if (type == "time" || type == "interval") node.as<Time>();
  else if (type == "list[int]") node.as<std::vector<int64_t>>();
  else if (type == "list[float]") node.as<std::vector<double>>();
  else if (type == "list[string]") node.as<std::vector<std::string>>();
  else if (type == "list[time]") {
    node.as<std::vector<std::string>>();  // a list, of scalars
    for (size_t i = 0; i < node.size(); ++i) node.at(i).as<Time>();
  }
  else throw ConfigError("schema error: unknown type '" + type + "' of key " + node.path());
}

// Checks `node`'s keys against `schema` and returns a new map with every key, defaults filled.
ConfigNode resolve_keys(const ConfigNode& node, const Schema& schema, const std::string& scope) {
  std::vector<std::string> known;
  for (const auto& spec : schema) known.push_back(spec.name);
  for (const auto& key : node.keys()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw LocatedConfigError(fmt::format("{}: unknown key '{}' in {}{}", node.child(key).where_key(), key, scope,
                                           hint(key, known)));
    }
  }
  ConfigNode out = node.new_map();
  for (const auto& spec : schema) {
    const ConfigNode value = node.child(spec.name);
    if (value.is_null() && spec.type != "part" && spec.type != "parts") {
      if (spec.required()) {
        throw LocatedConfigError(fmt::format("{}: missing required key '{}' in {} ({}: {})", node.where(), spec.name,
                                             scope, spec.type, spec.doc));
      }
      out.set(spec.name, value.new_value(spec.default_yaml));
      continue;
    }
    if (spec.check) spec.check(value);
    else if (spec.type != "part" && spec.type != "parts") check_type(value, spec.type);
    out.set(spec.name, value);
  }
  return out;
}

template <typename F>
ConfigNode resolve_part(const ConfigNode& node, const PartTable<F>& table, const std::string& section) {
  if (!node.is_map() || node.size() != 1) {
    throw LocatedConfigError(fmt::format("{}: {}: expected a map naming one {} and its arguments, e.g. {{{}: {{}}}}, "
                                         "got {} (known: {})", node.where(), node.path(), table.kind(), section == "model" ? "mlp" : "name",
                                         node.describe(), join(table.names())));
  }
  const auto name = node.keys().front();
  const auto* part = table.find(name);
  if (!part) {
    const auto at = node.child(name);
    auto best = did_you_mean(name, table.names());
    throw LocatedConfigError(fmt::format("{}: unknown {} '{}' in {} ({}known: {})", at.where_key(), table.kind(), name,
                                         section, best.empty() ? "" : "did you mean '" + best + "'? ",
                                         join(table.names())));
  }
  ConfigNode args = node.child(name);
  const auto scope = fmt::format("{} '{}'", table.kind(), name);
  if (!args.is_null() && !args.is_map()) {
    throw LocatedConfigError(fmt::format("{}: {}: expected a map of the {}'s arguments, got {}", args.where(), args.path(),
                                         table.kind(), args.describe()));
  }
  ConfigNode resolved = part->schema ? resolve_keys(args, *part->schema, scope) : (args.is_null() ? args.new_map() : args);
  ConfigNode out = node.new_map();
  out.set(name, resolved);
  return out;
}

// A map {name: args} or a list [{name: args}, ...]; a list is kept only where a name repeats.
template <typename F>
ConfigNode resolve_parts(const ConfigNode& node, const PartTable<F>& table, const std::string& section) {
  std::vector<ConfigNode> parts;
  if (node.is_map()) {
    for (const auto& name : node.keys()) {
      ConfigNode one = node.new_map();
      one.set(name, node.child(name));
      parts.push_back(resolve_part(one, table, section));
    }
  } else if (node.is_sequence()) {
    for (size_t i = 0; i < node.size(); ++i) parts.push_back(resolve_part(node.at(i), table, section));
  } else if (!node.is_null()) {
    throw LocatedConfigError(fmt::format("{}: {}: expected a map or a list of {}s, got {}", node.where(), node.path(),
                                         table.kind(), node.describe()));
  }
  std::set<std::string> names;
  for (const auto& part : parts) names.insert(part.keys().front());
  const bool as_list = names.size() != parts.size();
  ConfigNode out = as_list ? node.new_sequence() : node.new_map();
  for (const auto& part : parts) {
    if (as_list) out.push_back(part);
    else out.set(part.keys().front(), part.child(part.keys().front()));
  }
  return out;
}

template <typename F>
ConfigNode resolve_section(const ConfigNode& node, const KeySpec& spec, const PartTable<F>& table) {
  if (spec.type == "part") return node.is_null() ? node.new_value("null") : resolve_part(node, table, spec.name);
  return resolve_parts(node, table, spec.name);
}

// The rules between optimization-step keys; each key's own values are checked by its field
// (configs/option_descriptions.cpp).
void check_optimization_keys(const ConfigNode& out) {
  if (out.child("precision").as<std::string>() == "amp_fp16" && out.child("device").as<std::string>() == "cpu") {
    throw LocatedConfigError(fmt::format("{}: precision: amp_fp16 needs a CUDA device: LibTorch 1.13's CPU autocast "
                                         "supports only bfloat16; use amp_bf16 on the CPU (device: cpu)",
                                         out.child("precision").where()));
  }
  const auto clipping = out.child("clipping_type").as<std::string>();
  if (clipping != "none" && out.child("clipping_threshold").is_null()) {
    throw LocatedConfigError(fmt::format("{}: clipping_type {} needs a clipping_threshold", out.child("clipping_type").where(),
                                         clipping));
  }
}

}  // namespace

const std::vector<std::string>& part_sections() {
  static const std::vector<std::string> sections = {"model",      "train_loader", "eval_loader", "optimizers",
                                                    "schedulers", "callbacks",    "loggers"};
  return sections;
}

RunConfig RunConfig::parse(const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
                           const Registry& registry) {
  ConfigNode root = ConfigNode::parse(text, name);
  for (const auto& o : overrides) root.apply_override(o);
  return resolve(root, registry);
}

RunConfig RunConfig::load(const std::string& file, const std::vector<std::string>& overrides, const Registry& registry) {
  ConfigNode root = ConfigNode::load_file(file);
  for (const auto& o : overrides) root.apply_override(o);
  return resolve(root, registry);
}

RunConfig RunConfig::resolve(ConfigNode root, const Registry& registry) {
  if (!root.is_map()) {
    throw LocatedConfigError(fmt::format("{}: expected a map of trainer keys (model, train_loader, optimizers, "
                                         "max_duration, ...), got {}", root.where(), root.describe()));
  }
  const auto microbatch = root.child("device_train_microbatch_size");
  if (microbatch.is_scalar() && microbatch.scalar() == "auto") {
    throw LocatedConfigError(fmt::format(
        "{}: device_train_microbatch_size: \"auto\" is not supported: Composer finds it by retrying after CUDA "
        "out-of-memory errors, which tempo does not do; give the samples per microbatch (or 0 for the whole batch)",
        microbatch.where()));
  }
  ConfigNode out = resolve_keys(root, trainer_schema(), "trainer");
  for (const auto& spec : trainer_schema()) {
    const ConfigNode value = root.child(spec.name);
    if (spec.type == "part" && spec.required() && value.is_null()) {
      throw LocatedConfigError(fmt::format("{}: missing required key '{}' in trainer ({})", root.where(), spec.name, spec.doc));
    }
    if (spec.type == "parts" && spec.required() && (value.is_null() || value.size() == 0)) {
      throw LocatedConfigError(fmt::format("{}: missing required key '{}' in trainer ({})", root.where(), spec.name, spec.doc));
    }
    if (spec.name == "model") out.set(spec.name, resolve_section(value, spec, registry.models));
    else if (spec.name == "train_loader" || spec.name == "eval_loader") out.set(spec.name, resolve_section(value, spec, registry.datasets));
    else if (spec.name == "optimizers") out.set(spec.name, resolve_section(value, spec, registry.optimizers));
    else if (spec.name == "schedulers") out.set(spec.name, resolve_section(value, spec, registry.schedulers));
    else if (spec.name == "callbacks") out.set(spec.name, resolve_section(value, spec, registry.callbacks));
    else if (spec.name == "loggers") out.set(spec.name, resolve_section(value, spec, registry.loggers));
  }
  check_optimization_keys(out);
  if (out.child("seed").is_null()) {
    // Drawn here rather than by the trainer so the saved config reproduces the run.
    out.set("seed", out.new_value(std::to_string(std::random_device{}() & 0x7fffffffu)));
  }
  return RunConfig(out);
}

}  // namespace tempo::config
