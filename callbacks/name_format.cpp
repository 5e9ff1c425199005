#include "tempo/callbacks/name_format.h"

#include <fmt/args.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <variant>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {
namespace {

using Value = std::variant<std::string, int64_t, double>;

enum class Kind { kString, kInt, kFloat };

struct Variable {
  const char* name;
  Kind kind;
  bool fixed;  // the same for the whole run on one rank
};

constexpr Variable kVariables[] = {
    {"run_name", Kind::kString, true},   {"rank", Kind::kInt, true},
    {"local_rank", Kind::kInt, true},    {"world_size", Kind::kInt, true},
    {"local_world_size", Kind::kInt, true}, {"node_rank", Kind::kInt, true},
    {"epoch", Kind::kInt, false},        {"batch", Kind::kInt, false},
    {"batch_in_epoch", Kind::kInt, false}, {"sample", Kind::kInt, false},
    {"sample_in_epoch", Kind::kInt, false}, {"token", Kind::kInt, false},
    {"token_in_epoch", Kind::kInt, false}, {"total_wct", Kind::kFloat, false},
    {"epoch_wct", Kind::kFloat, false},  {"batch_wct", Kind::kFloat, false},
};

const Variable* find_variable(const std::string& name) {
  for (const auto& v : kVariables) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

Value value_of(const std::string& name, const State& s) {
  const auto& t = s.timestamp;
  if (name == "run_name") return s.run_name;
  if (name == "rank") return s.rank;
  if (name == "local_rank") return s.local_rank;
  if (name == "node_rank") return s.node_rank;
  if (name == "world_size") return s.world_size;
  if (name == "local_world_size") return s.local_world_size;
  if (name == "epoch") return t.epoch();
  if (name == "batch") return t.batch();
  if (name == "batch_in_epoch") return t.batch_in_epoch();
  if (name == "sample") return t.sample();
  if (name == "sample_in_epoch") return t.sample_in_epoch();
  if (name == "token") return t.token();
  if (name == "token_in_epoch") return t.token_in_epoch();
  if (name == "total_wct") return t.total_wct();
  if (name == "epoch_wct") return t.epoch_wct();
  return t.batch_wct();
}

Value sample_value(Kind kind) {
  switch (kind) {
    case Kind::kString: return std::string("run");
    case Kind::kInt: return int64_t{1};
    default: return 1.5;
  }
}

std::string format_value(const Value& value, const std::string& spec) {
  const auto format = "{:" + spec + "}";
  return std::visit([&](const auto& v) { return fmt::vformat(format, fmt::make_format_args(v)); }, value);
}

std::string regex_escape(const std::string& text) {
  static const std::string special = R"(\^$.|?*+()[]{}/)";
  std::string out;
  for (char c : text) {
    if (special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& NameFormat::variables() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const auto& v : kVariables) all.emplace_back(v.name);
    return all;
  }();
  return names;
}

NameFormat::NameFormat(std::string pattern, std::string option) : pattern_(std::move(pattern)), option_(std::move(option)) {
  auto fail = [&](const std::string& why) {
    throw ConfigError(fmt::format("{} '{}': {}", option_, pattern_, why));
  };
  std::string literal;
  for (size_t i = 0; i < pattern_.size(); ++i) {
    const char c = pattern_[i];
    if (c == '}') {
      if (i + 1 < pattern_.size() && pattern_[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      fail(fmt::format("unmatched '}}' at position {} (write '}}}}' for a literal brace)", i));
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < pattern_.size() && pattern_[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    const auto close = pattern_.find('}', i);
    if (close == std::string::npos) fail(fmt::format("unmatched '{{' at position {}", i));
    const auto field = pattern_.substr(i + 1, close - i - 1);
    const auto colon = field.find(':');
    Piece piece{field.substr(0, colon), colon == std::string::npos ? "" : field.substr(colon + 1), true};
    const auto* variable = find_variable(piece.text);
    if (!variable) {
      fail(fmt::format("unknown variable '{{{}}}': expected one of {}", piece.text, fmt::join(variables(), ", ")));
    }
    // A width or precision is bounded before anything is formatted: "{epoch:>999999999}" would
    // build a 1 GB name (and message). No file name is longer than 255 bytes (NAME_MAX).
    for (size_t d = 0; d < piece.spec.size();) {
      if (!std::isdigit(static_cast<unsigned char>(piece.spec[d]))) {
        ++d;
        continue;
      }
      const auto end = piece.spec.find_first_not_of("0123456789", d);
      const auto digits = piece.spec.substr(d, end == std::string::npos ? std::string::npos : end - d);
      if (digits.size() > 3 || std::stoi(digits) > 255) {
        fail(fmt::format("format spec '{}' of variable '{}' asks for {} characters; a file name holds at most 255",
                         piece.spec.size() > 40 ? piece.spec.substr(0, 40) + "..." : piece.spec, piece.text,
                         digits.size() > 12 ? digits.substr(0, 12) + "..." : digits));
      }
      d = end == std::string::npos ? piece.spec.size() : end;
    }
    try {
      format_value(sample_value(variable->kind), piece.spec);
    } catch (const fmt::format_error& e) {
      fail(fmt::format("format spec '{}' does not fit variable '{}': {}", piece.spec, piece.text, e.what()));
    }
    if (!literal.empty()) pieces_.push_back({literal, "", false});
    literal.clear();
    pieces_.push_back(piece);
    i = close;
  }
  if (!literal.empty()) pieces_.push_back({literal, "", false});
}

std::string NameFormat::format(const State& state) const {
  std::string out;
  for (const auto& piece : pieces_) {
    out += piece.is_variable ? format_value(value_of(piece.text, state), piece.spec) : piece.text;
  }
  return out;
}

std::regex NameFormat::matcher(const State& state) const {
  std::string re;
  for (const auto& piece : pieces_) {
    if (!piece.is_variable) {
      re += regex_escape(piece.text);
      continue;
    }
    const auto* variable = find_variable(piece.text);
    if (variable->fixed) {
      re += regex_escape(format_value(value_of(piece.text, state), piece.spec));
    } else if (variable->kind == Kind::kInt) {
      re += R"(([ +-]*[0-9a-fA-FxXob]+))";
    } else {
      re += R"(([ +-]*[0-9.eEinfa]+))";
    }
  }
  return std::regex(re);
}

std::optional<std::map<std::string, std::string>> NameFormat::parse(const std::string& text, const State& state) const {
  std::smatch match;
  if (!std::regex_match(text, match, matcher(state))) return std::nullopt;
  std::map<std::string, std::string> values;
  size_t group = 1;  // matcher() captures the progress variables, in pattern order
  for (const auto& piece : pieces_) {
    if (!piece.is_variable || find_variable(piece.text)->fixed) continue;
    values.emplace(piece.text, match[group++].str());
  }
  return values;
}

bool NameFormat::varies_during_run() const {
  return std::any_of(pieces_.begin(), pieces_.end(),
                     [](const Piece& piece) { return piece.is_variable && !find_variable(piece.text)->fixed; });
}

}  // namespace tempo
