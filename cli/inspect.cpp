#include "tempo/cli/inspect.h"
#include "tempo/cli/remote_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "tempo/errors/error.h"
#include "tempo/serialization/pickle_reader.h"
#include "tempo/serialization/weights_file.h"
#include "tempo/state/tree.h"
#include "tempo/util/json.h"
#include "tempo/util/number_format.h"

namespace tempo::cli {
namespace {

constexpr size_t kMaxShown = 20;     // children of a list or int-keyed dict shown in text mode
constexpr size_t kMaxLabelPad = 40;  // widest key that leaf columns are aligned to

const char* const kUsage =
    "usage: tempo inspect CHECKPOINT [--json] [--all]\n"
    "\n"
    "Prints the anatomy of a checkpoint: its keys as an indented tree, every tensor's dtype,\n"
    "shape and size, and a summary (timestamp, run name, seed, versions, tensor bytes, file size).\n"
    "Reads tempo checkpoints, Python torch.save state_dicts and safetensors files.\n"
    "\n"
    "options:\n"
    "  --json    one JSON document {\"file\", \"format\", \"summary\", \"tree\"} instead of text\n"
    "  --all     show every entry (text mode elides lists and int-keyed dicts after 20 entries)\n"
    "  --help    show this help\n";

std::string dtype_name(at::ScalarType type) {
  // clang-format off
  static const std::map<at::ScalarType, const char*> names{
      {at::kDouble, "float64"}, {at::kFloat, "float32"}, {at::kHalf, "float16"}, {at::kBFloat16, "bfloat16"},
      {at::kLong, "int64"}, {at::kInt, "int32"}, {at::kShort, "int16"}, {at::kChar, "int8"}, {at::kByte, "uint8"},
      {at::kBool, "bool"}, {at::kComplexFloat, "complex64"}, {at::kComplexDouble, "complex128"}};
  // clang-format on
  const auto it = names.find(type);
  return it != names.end() ? it->second : c10::toString(type);
}

uint64_t tensor_bytes(const at::Tensor& t) { return static_cast<uint64_t>(t.numel()) * t.element_size(); }

std::string shape_string(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t u = 0;
  for (; v >= 1024 && u + 1 < std::size(units); ++u) v /= 1024;
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

// Floats as Python's repr writes them, so the output reads like the Python side's ("2.0", "1e-08");
// JSON has no NaN or infinity: those become strings.
std::string json_double(double d) { return std::isfinite(d) ? format_double_python(d) : json_number(d); }

// A scalar or tensor as text mode shows it; strings quoted unless `quote` is false (dict keys).
std::string leaf_text(const c10::IValue& v, bool quote = true) {
  if (v.isTensor()) {
    const auto& t = v.toTensor();
    return fmt::format("{} {}  {}", dtype_name(t.scalar_type()), shape_string(t), human_bytes(tensor_bytes(t)));
  }
  if (v.isNone()) return "None";
  if (v.isBool()) return v.toBool() ? "true" : "false";
  if (v.isInt()) return std::to_string(v.toInt());
  if (v.isDouble()) return format_double_python(v.toDouble());
  if (v.isString()) return quote ? json_quote(v.toStringRef()) : v.toStringRef();
  return "<" + v.tagKind() + ">";
}

using Children = std::vector<std::pair<std::string, c10::IValue>>;

bool is_container(const c10::IValue& v) { return v.isGenericDict() || v.isList() || v.isTuple(); }

Children children_of(const c10::IValue& v) {
  Children r;
  if (v.isGenericDict())
    for (const auto& entry : v.toGenericDict()) r.emplace_back(leaf_text(entry.key(), false), entry.value());
  const auto items = v.isList()    ? v.toListRef()
                     : v.isTuple() ? v.toTupleRef().elements()
                                   : c10::ArrayRef<c10::IValue>();
  for (size_t i = 0; i < items.size(); ++i) r.emplace_back(fmt::format("[{}]", i), items[i]);
  return r;
}

struct Stats {
  uint64_t tensors = 0, bytes = 0;
  void add(const Stats& o) {
    if (__builtin_add_overflow(tensors, o.tensors, &tensors)) tensors = UINT64_MAX;
    if (__builtin_add_overflow(bytes, o.bytes, &bytes)) bytes = UINT64_MAX;
  }
};

// One print of a tree. The printer goes reference by reference, so a container the tree holds in
// several places (a pickle's memo can share one) is printed once for each: `spend` is called for
// every value printed and stops the print, as the unpickler stops a read, once more values than
// max_tree_values(file size) would be printed (pickle_reader.h). The stats of each container are
// worked out once, however often it is shared.
class Walk {
 public:
  Walk(const std::string& path, uint64_t file_bytes) : path_(path), limit_(max_tree_values(file_bytes)) {}

  void spend() {
    if (++spent_ > limit_)
      throw CheckpointError(fmt::format("checkpoint '{}': more than {} values to print through shared references",
                                        path_, limit_));
  }
  Stats stats_of(const c10::IValue& v) {
    if (v.isTensor()) return {1, tensor_bytes(v.toTensor())};
    if (!is_container(v)) return {};
    const void* id = v.internalToPointer();
    if (const auto it = stats_.find(id); it != stats_.end()) return it->second;
    Stats s;
    for (const auto& child : children_of(v)) s.add(stats_of(child.second));
    stats_.emplace(id, s);
    return s;
  }

 private:
  const std::string& path_;
  const uint64_t limit_;
  uint64_t spent_ = 0;
  std::unordered_map<const void*, Stats> stats_;
};

std::string stats_text(const Stats& s) {
  return s.tensors == 0 ? ""
                        : fmt::format(", {} tensor{}, {}", s.tensors, s.tensors == 1 ? "" : "s", human_bytes(s.bytes));
}

// "{4 keys, 4 tensors, 840 B}", "[2 items]", "()".
std::string container_text(const c10::IValue& v, size_t n, Walk& walk) {
  const bool dict = v.isGenericDict();
  const char* brackets = dict ? "{}" : v.isList() ? "[]" : "()";
  if (n == 0) return brackets;
  return fmt::format("{}{} {}{}{}{}", brackets[0], n, dict ? "key" : "item", n == 1 ? "" : "s", stats_text(walk.stats_of(v)),
                     brackets[1]);
}

std::string scalar_json(const c10::IValue& v);

// A short container of scalars on one line ("(0.9, 0.999)"; in JSON also '{"a": 1}' and "{}"), or
// nothing. Text mode shows no dict this way.
std::optional<std::string> one_line(const c10::IValue& v, bool json) {
  if (!is_container(v) || (v.isGenericDict() && !json)) return std::nullopt;
  std::vector<std::string> parts;
  size_t length = 0;
  for (const auto& [key, child] : children_of(v)) {
    if (is_container(child) || child.isTensor() || length > 80) return std::nullopt;
    parts.push_back((v.isGenericDict() ? json_quote(key) + ": " : "") +
                    (json ? scalar_json(child) : leaf_text(child)));
    length += parts.back().size() + 2;
  }
  if (length > 80 || (parts.empty() && !json)) return std::nullopt;
  const char* brackets = v.isGenericDict() ? "{}" : v.isList() || json ? "[]" : "()";
  return fmt::format("{}{}{}", brackets[0], fmt::join(parts, ", "), brackets[1]);
}

void print_tree(std::ostream& out, const c10::IValue& v, size_t indent, bool all, Walk& walk) {
  const auto children = children_of(v);
  const bool may_elide = !all && (!v.isGenericDict() || !v.toGenericDict().keyType()->cast<c10::StringType>());
  const size_t shown = may_elide ? std::min(children.size(), kMaxShown) : children.size();
  size_t pad = 0;
  for (size_t i = 0; i < shown; ++i)
    if (!is_container(children[i].second) || one_line(children[i].second, false))
      pad = std::max(pad, std::min(children[i].first.size(), kMaxLabelPad));
  const std::string margin(indent, ' ');
  for (size_t i = 0; i < shown; ++i) {
    const auto& [label, child] = children[i];
    walk.spend();
    const auto inline_text = one_line(child, false);
    if (is_container(child) && !inline_text) {
      const auto grandchildren = children_of(child).size();
      out << margin << label << "  " << container_text(child, grandchildren, walk) << "\n";
      if (grandchildren > 0) print_tree(out, child, indent + 2, all, walk);
    } else {
      out << margin << fmt::format("{:<{}}  {}\n", label, pad, inline_text ? *inline_text : leaf_text(child));
    }
  }
  if (shown < children.size()) {
    Stats rest;
    for (size_t i = shown; i < children.size(); ++i) rest.add(walk.stats_of(children[i].second));
    const auto rest_text = stats_text(rest);
    out << margin << "... " << children.size() - shown << " more"
        << (rest_text.empty() ? "" : " (" + rest_text.substr(2) + ")") << "\n";
  }
}

std::string scalar_json(const c10::IValue& v) {
  if (v.isTensor()) {
    const auto& t = v.toTensor();
    return fmt::format("{{\"tensor\": {{\"dtype\": \"{}\", \"shape\": {}, \"bytes\": {}}}}}",
                       dtype_name(t.scalar_type()), shape_string(t), tensor_bytes(t));
  }
  if (v.isNone()) return "null";
  if (v.isDouble()) return json_double(v.toDouble());
  if (v.isString()) return json_quote(v.toStringRef());
  if (v.isBool() || v.isInt()) return leaf_text(v);
  return json_quote("<" + v.tagKind() + ">");
}

// Containers one entry a line, except short ones of scalars, which stay on one line.
void write_json(std::ostream& out, const c10::IValue& v, size_t indent, Walk& walk) {
  walk.spend();
  if (const auto text = is_container(v) ? one_line(v, true) : scalar_json(v)) {
    out << *text;
    return;
  }
  const bool object = v.isGenericDict();
  const auto children = children_of(v);
  const std::string margin(indent + 2, ' ');
  out << (object ? "{" : "[");
  for (size_t i = 0; i < children.size(); ++i) {
    out << (i == 0 ? "\n" : ",\n") << margin;
    if (object) out << json_quote(children[i].first) << ": ";
    write_json(out, children[i].second, indent + 2, walk);
  }
  out << "\n" << std::string(indent, ' ') << (object ? "}" : "]");
}

// dict[key] when `v` is a string-keyed dict holding it, else None.
c10::IValue child(const c10::IValue& v, const char* key) {
  if (!v.isGenericDict() || !v.toGenericDict().keyType()->cast<c10::StringType>()) return {};
  const auto dict = v.toGenericDict();
  const auto it = dict.find(key);
  return it == dict.end() ? c10::IValue() : it->value();
}

// The size of the file at `path`, 0 if it cannot be had.
uint64_t size_of_file(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<uint64_t>(size);
}

// {file_bytes, tensor_count, tensor_bytes, then what the file holds of timestamp (epoch, batch,
// sample, batch_in_epoch), run_name, rank_zero_seed, tempo_version, torch_version, metadata}.
TreeDict summarize(const std::string& path, const WeightsFile& file, Walk& walk) {
  auto summary = new_tree_dict();
  summary.insert("file_bytes", static_cast<int64_t>(size_of_file(path)));
  const auto stats = walk.stats_of(file.tree);
  summary.insert("tensor_count", static_cast<int64_t>(stats.tensors));
  summary.insert("tensor_bytes", static_cast<int64_t>(stats.bytes));
  const auto state = child(file.tree, "state");
  auto timestamp = new_tree_dict();
  auto counters = child(state, "timestamp");  // flat in older tempo files, else {"Timestamp": {...}}
  if (const auto nested = child(counters, "Timestamp"); nested.isGenericDict()) counters = nested;
  for (const char* key : {"epoch", "batch", "sample", "batch_in_epoch"})
    if (const auto v = child(counters, key); v.isInt()) timestamp.insert(key, v);
  if (!timestamp.empty()) summary.insert("timestamp", timestamp);
  if (const auto v = child(state, "run_name"); v.isString()) summary.insert("run_name", v);
  if (const auto v = child(state, "rank_zero_seed"); v.isInt()) summary.insert("rank_zero_seed", v);
  for (const char* key : {"tempo_version", "torch_version"})
    if (const auto v = child(child(state, "metadata"), key); v.isString()) summary.insert(key, v);
  if (file.format == "safetensors") {
    auto metadata = new_tree_dict();
    for (const auto& [key, value] : file.metadata) metadata.insert(key, value);
    summary.insert("metadata", metadata);
  }
  return summary;
}

std::string bytes_text(uint64_t n) { return n < 1024 ? human_bytes(n) : fmt::format("{} ({} B)", human_bytes(n), n); }

// `s` as it is, or as a JSON string literal when it holds quotes or control characters.
std::string plain_or_quoted(const std::string& s) {
  const bool plain =
      std::none_of(s.begin(), s.end(), [](char c) { return c == '"' || static_cast<unsigned char>(c) < 0x20; });
  return plain && !s.empty() ? s : json_quote(s);
}

// `path` as the user named it (a URI too), `local` the file read.
void print_text(std::ostream& out, const std::string& path, const std::string& local, const WeightsFile& file, bool all) {
  Walk walk(path, size_of_file(local));
  const auto summary = summarize(local, file, walk);
  auto line = [&out](const std::string& label, const std::string& value) {
    out << fmt::format("{:<16}{}\n", label, value);
  };
  line("file", plain_or_quoted(path));
  line("format", file.format);
  line("file size", bytes_text(summary.at("file_bytes").toInt()));
  line("tensors",
       fmt::format("{}, {}", summary.at("tensor_count").toInt(), bytes_text(summary.at("tensor_bytes").toInt())));
  for (const auto& entry : summary) {
    const auto& key = entry.key().toStringRef();
    const auto& value = entry.value();
    if (key == "timestamp") {
      std::vector<std::string> parts;
      for (const auto& [name, number] : children_of(value)) parts.push_back(name + " " + leaf_text(number));
      line(key, fmt::format("{}", fmt::join(parts, ", ")));
    } else if (key == "metadata") {
      bool first = true;
      for (const auto& [name, text] : children_of(value))
        line(std::exchange(first, false) ? key : "",
             plain_or_quoted(name) + ": " + plain_or_quoted(text.toStringRef()));
    } else if (value.isString()) {
      line(key, plain_or_quoted(value.toStringRef()));
    } else if (key != "file_bytes" && key != "tensor_count" && key != "tensor_bytes") {
      line(key, leaf_text(value));
    }
  }
  out << "\n" << (is_container(file.tree) ? "" : leaf_text(file.tree) + "\n");
  print_tree(out, file.tree, 0, all, walk);
}

void print_json(std::ostream& out, const std::string& path, const std::string& local, const WeightsFile& file) {
  Walk walk(path, size_of_file(local));
  auto document = new_tree_dict();
  document.insert("file", path);
  document.insert("format", file.format);
  document.insert("summary", summarize(local, file, walk));
  document.insert("tree", file.tree);
  write_json(out, document, 0, walk);
  out << "\n";
}

}  // namespace

int run_inspect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  bool json = false, all = false;
  std::vector<std::string> files;
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out << kUsage;
      return 0;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--all") {
      all = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      err << "tempo inspect: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.size() != 1) {
    err << (files.empty() ? "tempo inspect: no checkpoint given\n" : "tempo inspect: give one checkpoint\n") << kUsage;
    return 2;
  }
  const auto& path = files.front();
  try {
    const RemoteInput input(path);  // a URI is downloaded first
    const auto file = open_weights_file(input.local());
    json ? print_json(out, path, input.local(), file) : print_text(out, path, input.local(), file, all);
    return 0;
  } catch (const std::exception& e) {
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    const std::string message = c10_error ? c10_error->what_without_backtrace() : e.what();
    err << "tempo inspect: " << (message.find(path) == std::string::npos ? "'" + path + "': " : "") << message << "\n";
    return 2;
  }
}

int inspect_command(const std::vector<std::string>& args) { return run_inspect(args, std::cout, std::cerr); }

}  // namespace tempo::cli
