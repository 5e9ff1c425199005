// Description<Options>: the YAML face of one options struct, written once: for each key the member
// it sets, its type, what it means and the checks of its value. Everything else is derived from it:
//   - schema(): the Schema that resolution checks a config against (unknown keys with did-you-mean,
//     types, values), with each default written from a default-constructed Options, so the
//     TORCH_ARG initialiser in the struct is the one place a default is written;
//   - read(): sets the struct from a resolved map, parsing each value by its field, once;
//   - the tables of docs/config.md and `tempo train --list-keys` (schema_table of schema()).
// A field of one struct can be reused for another struct's member of the same type (alias()):
// the trainer's save_* keys are the CheckpointSaver's keys under another name.
// Requires: Options is default-constructible (for schema()).
// Throws: a field's parse throws LocatedConfigError "<file:line:col>: <dotted path>: expected ...,
// got ...", the path being the key as the user wrote it ("callbacks.checkpoint_saver.folder").
// at() and alias() throw std::logic_error for a key the description lacks or a type mismatch,
// which is a mistake in tempo's code, found by the configs tests.
#pragma once

#include <fmt/format.h>

#include <any>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tempo/callbacks/interval.h"
#include "tempo/configs/config_node.h"
#include "tempo/configs/schema.h"
#include "tempo/time/time_quantity.h"

namespace tempo::config {

// A float as YAML that reads back to the same value, always with a '.' ("1.0", "1.0e-08") so YAML
// 1.1 readers (PyYAML) read a number too.
std::string yaml_float(double value);

// Throws LocatedConfigError "<where>: <path>: <why>".
[[noreturn]] void fail_at(const ConfigNode& node, const std::string& why);

// How a C++ type reads from YAML and is written back (the schema's type name, the parse, the
// rendering of a default).
template <typename T>
struct Yaml;

template <>
struct Yaml<std::string> {
  static constexpr const char* type = "string";
  static std::string read(const ConfigNode& node) { return node.as<std::string>(); }
  static std::string write(const std::string& value) { return yaml_scalar(value); }
};
template <>
struct Yaml<int64_t> {
  static constexpr const char* type = "int";
  static int64_t read(const ConfigNode& node) { return node.as<int64_t>(); }
  static std::string write(int64_t value) { return std::to_string(value); }
};
template <>
struct Yaml<uint64_t> {
  static constexpr const char* type = "uint";
  static uint64_t read(const ConfigNode& node) { return node.as<uint64_t>(); }
  static std::string write(uint64_t value) { return std::to_string(value); }
};
template <>
struct Yaml<double> {
  static constexpr const char* type = "float";
  static double read(const ConfigNode& node) { return node.as<double>(); }
  static std::string write(double value) { return yaml_float(value); }
};
template <>
struct Yaml<bool> {
  static constexpr const char* type = "bool";
  static bool read(const ConfigNode& node) { return node.as<bool>(); }
  static std::string write(bool value) { return value ? "true" : "false"; }
};
template <>
struct Yaml<Time> {
  static constexpr const char* type = "time";
  static Time read(const ConfigNode& node) { return node.as<Time>(); }
  static std::string write(const Time& value) { return to_string(value); }
};
// Only the time forms: a predicate cannot be written in YAML (nor be a default of a described key).
template <>
struct Yaml<Interval> {
  static constexpr const char* type = "interval";
  static Interval read(const ConfigNode& node) { return node.as<Time>(); }
  static std::string write(const Interval& value) { return value.is_time() ? to_string(value.time()) : "null"; }
};
template <typename T>
struct Yaml<std::vector<T>> {
  static std::string type_name() { return std::string("list[") + Yaml<T>::type + "]"; }
  static std::vector<T> read(const ConfigNode& node) { return node.as<std::vector<T>>(); }
  static std::string write(const std::vector<T>& values) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : ", ") + Yaml<T>::write(v);
    return "[" + out + "]";
  }
};
// Unset is null in YAML.
template <typename T>
struct Yaml<std::optional<T>> {
  static std::optional<T> read(const ConfigNode& node) {
    if (node.is_null()) return std::nullopt;
    return Yaml<T>::read(node);
  }
  static std::string write(const std::optional<T>& value) { return value ? Yaml<T>::write(*value) : "null"; }
};

// A list of time strings, each checked (and located) on its own: MultiStepScheduler's milestones.
template <>
struct Yaml<std::vector<Time>> {
  static std::string type_name() { return "list[time]"; }
  static std::vector<Time> read(const ConfigNode& node) {
    if (!node.is_sequence()) {
      fail_at(node, "expected a list of time strings like [\"10ep\", \"500ba\"], got " + node.describe());
    }
    std::vector<Time> out;
    for (size_t i = 0; i < node.size(); ++i) out.push_back(node.at(i).as<Time>());
    return out;
  }
  static std::string write(const std::vector<Time>& values) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : ", ") + to_string(v);
    return "[" + out + "]";
  }
};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
std::string yaml_type() {
  if constexpr (IsVector<T>::value) {
    return Yaml<T>::type_name();
  } else {
    return Yaml<T>::type;
  }
}
template <typename T>
struct YamlType {
  static std::string name() { return yaml_type<T>(); }
};
template <typename T>
struct YamlType<std::optional<T>> {
  static std::string name() { return yaml_type<T>(); }
};

// A check of a parsed value: "" when it is fine, else what was expected and what was given
// ("expected a count >= 0, got -2"); the field prefixes the location and the key.
template <typename T>
using Check = std::function<std::string(const T&)>;

// How one key's value is parsed, checked and written, for a member of type T.
template <typename T>
struct Value {
  std::string type;
  std::function<T(const ConfigNode&)> parse;  // throws LocatedConfigError
  std::function<std::string(const T&)> write;
};

template <typename T>
struct Identity {
  using type = T;
};
template <typename T>
using NonDeduced = typename Identity<T>::type;

// T's own YAML form, checked by `check`.
template <typename T>
Value<T> value_of(Check<NonDeduced<T>> check = {}) {
  return {YamlType<T>::name(),
          [check = std::move(check)](const ConfigNode& node) {
            T value = Yaml<T>::read(node);
            if (check) {
              const auto why = check(value);
              if (!why.empty()) fail_at(node, why);
            }
            return value;
          },
          [](const T& value) { return Yaml<T>::write(value); }};
}

// An enum written as one of `values`' names (to_string(E)).
template <typename E>
Value<E> choice_of(std::vector<E> values) {
  std::vector<std::string> names;
  for (const auto& v : values) names.push_back(to_string(v));
  return {"string",
          [values, names](const ConfigNode& node) {
            const auto name = node.as<std::string>();
            for (size_t i = 0; i < names.size(); ++i) {
              if (names[i] == name) return values[i];
            }
            fail_at(node, fmt::format("expected one of {}, got \"{}\"", fmt::join(names, ", "), name));
          },
          [](const E& value) { return to_string(value); }};
}

// `inner`, with `unset` (the member's value when the key is not given) written as null: for keys
// whose absence means something ("unset: the whole batch") rather than a number.
template <typename T>
Value<T> null_when(Value<T> inner, T unset) {
  auto write = inner.write;
  inner.write = [write, unset](const T& value) { return value == unset ? std::string("null") : write(value); };
  return inner;
}

// One key of Options.
template <typename Options>
struct Field {
  std::string key;
  std::string type;
  std::string doc;
  // Parses `node` (neither absent nor null), checks it and sets it into `options`.
  std::function<void(const ConfigNode& node, Options& options)> read;
  // The member's value as YAML; "" for a required key that has no value.
  std::function<std::string(const Options& options)> write;
  std::function<void(const ConfigNode& node)> check;  // the parse and checks alone
  std::any value;                                     // the Value<T>, for alias()
};

// A key setting the TORCH_ARG member `member` (&Options::name) through `value`.
template <typename Options, typename T>
Field<Options> field_of(std::string key, T& (Options::*member)() noexcept, Value<NonDeduced<T>> value,
                        std::string doc) {
  Field<Options> f;
  f.key = std::move(key);
  f.type = value.type;
  f.doc = std::move(doc);
  f.read = [member, parse = value.parse](const ConfigNode& node, Options& options) { (options.*member)() = parse(node); };
  f.write = [member, write = value.write](const Options& options) {
    Options copy = options;  // TORCH_ARG's pointer-to-member getter is the non-const one
    return write((copy.*member)());
  };
  f.check = [parse = value.parse](const ConfigNode& node) { parse(node); };
  f.value = std::move(value);
  return f;
}

// The common case: the member's own YAML form, with an optional check of its value.
template <typename Options, typename T>
Field<Options> field(std::string key, T& (Options::*member)() noexcept, std::string doc,
                     Check<NonDeduced<T>> check = {}) {
  return field_of(std::move(key), member, value_of<T>(std::move(check)), std::move(doc));
}

// A key read and written through functions, for members that are not a plain TORCH_ARG
// (TrainerOptions::max_duration). `get` returns nullopt for "required, no default".
template <typename Options, typename T>
Field<Options> field_by(std::string key, Value<T> value, std::function<void(Options&, const T&)> set,
                        std::function<std::optional<T>(const Options&)> get, std::string doc) {
  Field<Options> f;
  f.key = std::move(key);
  f.type = value.type;
  f.doc = std::move(doc);
  f.read = [set, parse = value.parse](const ConfigNode& node, Options& options) {
    const T parsed = parse(node);
    try {
      set(options, parsed);
    } catch (const LocatedConfigError&) {
      throw;
    } catch (const Error& e) {  // the setter's own check ("max_duration must be > 0")
      fail_at(node, e.what());
    }
  };
  f.write = [get, write = value.write](const Options& options) {
    const auto current = get(options);
    return current ? write(*current) : std::string();
  };
  f.check = [parse = value.parse](const ConfigNode& node) { parse(node); };
  f.value = std::move(value);
  return f;
}

// `f` as a required key: the schema gives it no default (the struct's constructor takes it, and
// what the defaults object holds there is only a stand-in).
template <typename Options>
Field<Options> required(Field<Options> f) {
  f.write = [](const Options&) { return std::string(); };
  return f;
}

// A key of Inner as a key of Outer, whose member `member` is an Inner (OptimizerConfig's torch
// options): the same key, type, checks and doc.
template <typename Outer, typename Inner>
Field<Outer> within(Field<Inner> f, Inner& (Outer::*member)() noexcept) {
  Field<Outer> out;
  out.key = std::move(f.key);
  out.type = std::move(f.type);
  out.doc = std::move(f.doc);
  out.read = [member, read = f.read](const ConfigNode& node, Outer& options) { read(node, (options.*member)()); };
  out.write = [member, write = f.write](const Outer& options) {
    Outer copy = options;
    return write((copy.*member)());
  };
  out.check = std::move(f.check);
  out.value = std::move(f.value);
  return out;
}

template <typename Options>
class Description {
 public:
  explicit Description(std::vector<Field<Options>> fields) : fields_(std::move(fields)) {}

  const std::vector<Field<Options>>& fields() const { return fields_; }

  const Field<Options>& at(const std::string& key) const {
    for (const auto& f : fields_) {
      if (f.key == key) return f;
    }
    throw std::logic_error("options description: no key '" + key + "'");
  }

  // Sets each key of the map `node` that is present and not null; the others keep their values.
  void read(const ConfigNode& node, Options& options) const {
    for (const auto& f : fields_) {
      const auto value = node.child(f.key);
      if (!value.is_null()) f.read(value, options);
    }
  }
  Options read(const ConfigNode& node) const {
    Options options;
    read(node, options);
    return options;
  }

  // The keys in order, their defaults written from `defaults`.
  Schema schema(const Options& defaults = Options()) const {
    Schema out;
    for (const auto& f : fields_) out.emplace_back(f.key, f.type, f.write(defaults), f.doc, f.check);
    return out;
  }

 private:
  std::vector<Field<Options>> fields_;
};

// The key `source_key` of `source` as `key` of Options, setting `member`: the same type, checks
// and doc, written once for both structs.
template <typename Options, typename Source, typename T>
Field<Options> alias(const Description<Source>& source, const std::string& source_key, std::string key,
                     T& (Options::*member)() noexcept) {
  const auto& from = source.at(source_key);
  const auto* value = std::any_cast<Value<T>>(&from.value);
  if (!value) throw std::logic_error("options description: '" + key + "' and '" + source_key + "' differ in type");
  return field_of(std::move(key), member, *value, from.doc);
}

}  // namespace tempo::config
