// The only place where yaml-cpp is used: ConfigNode wraps a
// YAML::Node together with its path and the document's Source, which turns a path back into a
// location in the file or the override that set it.
#include "tempo/configs/config_node.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

#include "tempo/time/time_quantity.h"
#include "tempo/util/regular_file.h"

namespace tempo::config {

// What a document's nodes share: the file name, the tree as parsed (for marks), and the
// overrides applied since, by canonical path.
struct Source {
  std::string file;
  YAML::Node original;
  std::vector<std::pair<std::string, std::string>> overrides;  // (path, "key=value")
};

struct ConfigNode::Impl {
  YAML::Node node;
  std::string path;
  std::shared_ptr<Source> source;
};

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  if (path.empty()) return parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The element of a list of one-key maps whose key is `key`, or -1 (none) / -2 (several).
long find_named(const YAML::Node& seq, const std::string& key) {
  long found = -1;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (seq[i].IsMap() && seq[i][key]) {
      if (found >= 0) return -2;
      found = static_cast<long>(i);
    }
  }
  return found;
}

std::string location(const Source& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source.file;
  return fmt::format("{}:{}:{}", source.file, mark.line + 1, mark.column + 1);
}

// The location of `path`: the override that set it (or created a map on its way), else the
// mark of the deepest node of the file on that path; for `key_mark`, the key's own position.
std::string locate(const Source& source, const std::string& path, bool key_mark) {
  for (auto it = source.overrides.rbegin(); it != source.overrides.rend(); ++it) {
    if (path == it->first || path.rfind(it->first + ".", 0) == 0) return fmt::format("override '{}'", it->second);
  }
  YAML::Node cur;
  cur.reset(source.original);
  YAML::Mark mark = cur.Mark();
  for (const auto& seg : split_path(path)) {
    YAML::Node next;
    if (cur.IsSequence() && is_index(seg) && std::stoul(seg) < cur.size()) {
      next.reset(cur[std::stoul(seg)]);
      mark = next.Mark();
    } else if (cur.IsMap()) {
      bool found = false;
      for (auto kv = cur.begin(); kv != cur.end(); ++kv) {
        if (kv->first.IsScalar() && kv->first.Scalar() == seg) {
          next.reset(kv->second);
          mark = key_mark ? kv->first.Mark() : kv->second.Mark();
          found = true;
          break;
        }
      }
      if (!found) break;
    } else {
      break;
    }
    cur.reset(next);
  }
  return location(source, mark);
}

// A config is a few KB; the cap keeps `tempo train /dev/zero`-like mistakes from exhausting memory.
constexpr uint64_t kMaxConfigBytes = 8 << 20;

std::string read_text(const std::string& path) {
  std::string text, why;
  if (!read_regular_file(path, kMaxConfigBytes, "a config file", text, why)) {
    throw LocatedConfigError(fmt::format("{}: cannot read the config file: it {}", path, why));
  }
  return text;
}

// What yaml-cpp reads laxly, refused (PyYAML, which Composer users know, differs on each, and
// a silent choice hides a typo): a key given twice in one map (yaml-cpp keeps the first,
// PyYAML the last), a key that is not a plain string (null, a list, a map), and a tag ("!!str",
// "!foo"; yaml-cpp accepts and ignores them). `where` names the mark's file, or the override.
void check_strict(const YAML::Node& root, const std::function<std::string(const YAML::Mark&)>& where) {
  auto check_tag = [&](const YAML::Node& node) {
    const std::string& tag = node.Tag();
    if (!tag.empty() && tag != "?" && tag != "!") {
      throw LocatedConfigError(fmt::format("{}: YAML tags are not supported (got '{}'); write the value plainly, "
                                           "quoted if it must stay a string", where(node.Mark()), tag));
    }
  };
  std::vector<YAML::Node> pending{root};  // iterative: yaml-cpp bounds the depth, but not the width
  while (!pending.empty()) {
    YAML::Node node = pending.back();
    pending.pop_back();
    check_tag(node);
    if (node.IsSequence()) {
      for (const auto& item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      std::map<std::string, YAML::Mark> seen;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar() || (kv.first.Tag() == "?" && kv.first.Scalar() == "~") ||
            (kv.first.Tag() == "?" && kv.first.Scalar().empty())) {
          throw LocatedConfigError(fmt::format("{}: expected a key (a plain string), got {}", where(kv.first.Mark()),
                                               kv.first.IsMap() ? "a map" : kv.first.IsSequence() ? "a list" : "null"));
        }
        check_tag(kv.first);
        const auto [first, inserted] = seen.emplace(kv.first.Scalar(), kv.first.Mark());
        if (!inserted) {
          throw LocatedConfigError(fmt::format(
              "{}: duplicate key '{}' (first given at line {}); YAML readers disagree on which one counts, so give "
              "it once", where(kv.first.Mark()), kv.first.Scalar(), first->second.line + 1));
        }
        pending.push_back(kv.second);
      }
    }
  }
}

// One YAML document, checked by check_strict. A second document ("---" after the first) is
// refused: yaml-cpp's Load would ignore it silently. `name` is the file name in messages.
YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  const Source source{name, {}, {}};
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    // yaml-cpp's nesting bound reports itself with a message that names no cause ("bad file").
    const bool too_deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
    throw LocatedConfigError(fmt::format("{}: malformed YAML: {}", location(source, e.mark),
                                         too_deep ? "nested more deeply than yaml-cpp reads (its limit is 2000 levels)"
                                                  : e.msg));
  }
  if (documents.size() > 1) {
    throw LocatedConfigError(fmt::format("{}: a second YAML document ('---'); a config file holds one",
                                         location(source, documents[1].Mark())));
  }
  YAML::Node root = documents.empty() ? YAML::Node() : documents[0];
  check_strict(root, [&](const YAML::Mark& mark) { return location(source, mark); });
  return root;
}

template <typename T>
bool decode(const YAML::Node& node, T& out) {
  if (!node.IsScalar()) return false;
  try {
    return YAML::convert<T>::decode(node, out);
  } catch (const YAML::Exception&) {
    return false;
  }
}

template <typename T>
bool decode_list(const YAML::Node& node, std::vector<T>& out) {
  if (!node.IsSequence()) return false;
  for (const auto& item : node) {
    T value;
    if (!decode(item, value)) return false;
    out.push_back(value);
  }
  return true;
}

}  // namespace

ConfigNode::ConfigNode() : impl_(std::make_shared<Impl>(Impl{YAML::Node(), "", std::make_shared<Source>()})) {}
ConfigNode::ConfigNode(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& name) {
  auto source = std::make_shared<Source>();
  source->file = name;
  source->original = parse_yaml(text, name);
  YAML::Node root;
  root.reset(source->original);
  return ConfigNode(std::make_shared<Impl>(Impl{root, "", source}));
}

ConfigNode ConfigNode::load_file(const std::string& path) { return parse(read_text(path), path); }

bool ConfigNode::is_null() const { return !impl_->node.IsDefined() || impl_->node.IsNull(); }
bool ConfigNode::is_map() const { return impl_->node.IsMap(); }
bool ConfigNode::is_sequence() const { return impl_->node.IsSequence(); }
bool ConfigNode::is_scalar() const { return impl_->node.IsScalar(); }
size_t ConfigNode::size() const { return impl_->node.size(); }
const std::string& ConfigNode::path() const { return impl_->path; }

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  if (!is_map()) return out;
  for (const auto& kv : impl_->node) out.push_back(kv.first.IsScalar() ? kv.first.Scalar() : "?");
  return out;
}

bool ConfigNode::has(const std::string& key) const {
  const YAML::Node& node = impl_->node;
  return node.IsMap() && node[key].IsDefined();
}

ConfigNode ConfigNode::child(const std::string& key) const {
  const YAML::Node& node = impl_->node;
  YAML::Node value;
  if (node.IsMap() && node[key].IsDefined()) value.reset(node[key]);
  std::string path = impl_->path.empty() ? key : impl_->path + "." + key;
  return ConfigNode(std::make_shared<Impl>(Impl{value, std::move(path), impl_->source}));
}

ConfigNode ConfigNode::at(size_t index) const {
  YAML::Node value;
  value.reset(impl_->node[index]);
  return ConfigNode(std::make_shared<Impl>(
      Impl{value, impl_->path + "." + std::to_string(index), impl_->source}));
}

std::string ConfigNode::scalar() const { return impl_->node.IsScalar() ? impl_->node.Scalar() : ""; }

ConfigNode ConfigNode::new_map() const {
  return ConfigNode(std::make_shared<Impl>(Impl{YAML::Node(YAML::NodeType::Map), impl_->path, impl_->source}));
}
ConfigNode ConfigNode::new_sequence() const {
  return ConfigNode(std::make_shared<Impl>(Impl{YAML::Node(YAML::NodeType::Sequence), impl_->path, impl_->source}));
}
ConfigNode ConfigNode::new_value(const std::string& yaml) const {
  return ConfigNode(std::make_shared<Impl>(Impl{YAML::Load(yaml), impl_->path, impl_->source}));
}

void ConfigNode::set(const std::string& key, const ConfigNode& value) { impl_->node[key] = value.impl_->node; }
void ConfigNode::push_back(const ConfigNode& value) { impl_->node.push_back(value.impl_->node); }

void ConfigNode::apply_override(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw LocatedConfigError(fmt::format("override '{}': expected key=value, e.g. max_duration=3ep", text));
  }
  const auto segments = split_path(text.substr(0, eq));
  YAML::Node value;
  try {
    const auto documents = YAML::LoadAll(text.substr(eq + 1));
    if (documents.size() > 1) throw YAML::ParserException(YAML::Mark::null_mark(), "a second YAML document ('---')");
    if (!documents.empty()) value = documents[0];
  } catch (const YAML::ParserException& e) {
    throw LocatedConfigError(fmt::format("override '{}': malformed YAML value: {}", text, e.msg));
  }
  check_strict(value, [&](const YAML::Mark&) { return fmt::format("override '{}'", text); });
  auto& source = *impl_->source;
  if (impl_->node.IsNull()) impl_->node = YAML::Node(YAML::NodeType::Map);
  YAML::Node cur;
  cur.reset(impl_->node);
  std::string canonical;
  auto extend = [&canonical](const std::string& seg) { canonical += (canonical.empty() ? "" : ".") + seg; };
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& seg = segments[i];
    if (seg.empty()) throw LocatedConfigError(fmt::format("override '{}': empty key in the dotted path", text));
    const bool last = i + 1 == segments.size();
    if (cur.IsSequence()) {
      long index = -1;
      if (is_index(seg)) {
        index = std::stol(seg);
        if (static_cast<size_t>(index) >= cur.size()) index = -1;
      } else {
        index = find_named(cur, seg);
      }
      if (index < 0) {
        throw LocatedConfigError(fmt::format("override '{}': '{}' is a list with {} element(s) and '{}' picks {} of "
                                             "them; use an index, e.g. {}.0", text, canonical, cur.size(), seg,
                                             index == -2 ? "several" : "none", canonical));
      }
      extend(std::to_string(index));
      YAML::Node element = cur[static_cast<size_t>(index)];
      if (is_index(seg)) {
        if (last) {
          element = value;
          break;
        }
        cur.reset(element);
        continue;
      }
      cur.reset(element);
    }
    if (cur.IsScalar()) {
      throw LocatedConfigError(fmt::format("override '{}': '{}' holds a value, not a map of keys", text, canonical));
    }
    if (!cur.IsMap()) cur = YAML::Node(YAML::NodeType::Map);
    extend(seg);
    if (last) {
      cur[seg] = value;
      break;
    }
    YAML::Node next = cur[seg];
    if (!next.IsDefined() || next.IsNull()) {
      cur[seg] = YAML::Node(YAML::NodeType::Map);
      source.overrides.emplace_back(canonical, text);  // the map exists because of this override
    }
    YAML::Node step = cur[seg];
    cur.reset(step);
  }
  source.overrides.emplace_back(canonical, text);
}

namespace {
// Empty maps and lists print inline ("schedulers: {}"), which block style cannot express.
void flow_empty(YAML::Node node) {
  if ((node.IsMap() || node.IsSequence()) && node.size() == 0) node.SetStyle(YAML::EmitterStyle::Flow);
  if (node.IsMap()) {
    for (auto kv : node) flow_empty(kv.second);
  } else if (node.IsSequence()) {
    for (auto item : node) flow_empty(item);
  }
}
}  // namespace

std::string ConfigNode::emit() const {
  flow_empty(impl_->node);
  YAML::Emitter out;
  out << impl_->node;
  return std::string(out.c_str()) + "\n";
}

std::string ConfigNode::emit_flow() const {
  if (!impl_->node.IsDefined()) return "";
  YAML::Emitter out;
  out << YAML::Flow << impl_->node;
  return out.c_str();
}

std::vector<ConfigChange> compare_configs(const ConfigNode& before, const ConfigNode& after) {
  std::vector<ConfigChange> changes;
  // (before, after, path) pairs still to compare; a stack, as the trees may be deep.
  std::vector<std::tuple<ConfigNode, ConfigNode, std::string>> pending{{before, after, ""}};
  auto join = [](const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; };
  while (!pending.empty()) {
    auto [b, a, path] = pending.back();
    pending.pop_back();
    if (b.is_map() && a.is_map()) {
      std::vector<std::tuple<ConfigNode, ConfigNode, std::string>> children;
      for (const auto& key : a.keys()) children.emplace_back(b.child(key), a.child(key), join(path, key));
      for (const auto& key : b.keys()) {
        if (!a.has(key)) children.emplace_back(b.child(key), ConfigNode(), join(path, key));
      }
      // Reversed onto the stack, so changes come out in document order.
      pending.insert(pending.end(), children.rbegin(), children.rend());
      continue;
    }
    const std::string b_text = b.emit_flow(), a_text = a.emit_flow();  // "" when absent, "~" for null
    if (b_text != a_text) changes.push_back({path, b_text, a_text});
  }
  return changes;
}

std::string yaml_scalar(const std::string& value) {
  YAML::Emitter out;
  out << value;
  return out.c_str();
}

std::string ConfigNode::where() const { return locate(*impl_->source, impl_->path, false); }
std::string ConfigNode::where_key() const { return locate(*impl_->source, impl_->path, true); }

std::string ConfigNode::where_within() const {
  const auto base = where();
  if (base.rfind("override '", 0) == 0) return base;
  std::vector<std::string> below;
  for (const auto& [path, text] : impl_->source->overrides) {
    const auto quoted = "'" + text + "'";
    const bool under = impl_->path.empty() || path.rfind(impl_->path + ".", 0) == 0;
    if (under && std::find(below.begin(), below.end(), quoted) == below.end()) below.push_back(quoted);
  }
  if (below.empty()) return base;
  std::string joined;
  for (const auto& q : below) joined += (joined.empty() ? "" : ", ") + q;
  return fmt::format("override {} ({})", joined, base);
}

std::string ConfigNode::describe() const {
  if (is_null()) return "nothing";
  if (is_map()) return "a map";
  if (is_sequence()) return "a list";
  return "\"" + scalar() + "\"";
}

namespace {
template <typename T>
[[noreturn]] void wrong(const ConfigNode& node, const std::string& what, const std::string& why = "") {
  throw LocatedConfigError(fmt::format("{}: {}: expected {}, got {}{}", node.where(), node.path(), what,
                                       node.describe(), why.empty() ? "" : " (" + why + ")"));
}
}  // namespace

#define TEMPO_CONFIG_SCALAR(T, WHAT)                 \
  template <>                                        \
  T ConfigNode::as<T>() const {                      \
    T out{};                                         \
    if (!decode(impl_->node, out)) wrong<T>(*this, WHAT); \
    return out;                                      \
  }
TEMPO_CONFIG_SCALAR(bool, "true or false")
TEMPO_CONFIG_SCALAR(int64_t, "an integer")
TEMPO_CONFIG_SCALAR(double, "a number")
#undef TEMPO_CONFIG_SCALAR

template <>
uint64_t ConfigNode::as<uint64_t>() const {
  int64_t negative = 0;
  if (decode(impl_->node, negative) && negative < 0) wrong<uint64_t>(*this, "a non-negative integer");
  uint64_t out = 0;
  // Decoded only when no '-' is present: some yaml-cpp versions wrap "-1" around to 2^64 - 1.
  if (impl_->node.Scalar().find('-') != std::string::npos || !decode(impl_->node, out)) {
    wrong<uint64_t>(*this, "a non-negative integer below 2^64");
  }
  return out;
}

template <>
std::string ConfigNode::as<std::string>() const {
  if (!impl_->node.IsScalar()) wrong<std::string>(*this, "a string");
  return impl_->node.Scalar();
}

template <>
Time ConfigNode::as<Time>() const {
  const std::string what = "a time string like \"10ep\", \"500ba\" or \"0.5dur\"";
  if (!impl_->node.IsScalar()) wrong<Time>(*this, what);
  try {
    return Time::parse(impl_->node.Scalar());
  } catch (const TimeError& e) {
    wrong<Time>(*this, what, e.what());
  }
}

template <>
std::vector<int64_t> ConfigNode::as<std::vector<int64_t>>() const {
  std::vector<int64_t> out;
  if (!decode_list(impl_->node, out)) wrong<int>(*this, "a list of integers, e.g. [256, 128]");
  return out;
}
template <>
std::vector<double> ConfigNode::as<std::vector<double>>() const {
  std::vector<double> out;
  if (!decode_list(impl_->node, out)) wrong<int>(*this, "a list of numbers, e.g. [0.9, 0.999]");
  return out;
}
template <>
std::vector<std::string> ConfigNode::as<std::vector<std::string>>() const {
  std::vector<std::string> out;
  if (!decode_list(impl_->node, out)) wrong<int>(*this, "a list of strings");
  return out;
}

}  // namespace tempo::config
