#include "tempo/util/json.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_set>

#include "tempo/util/number_format.h"
#include "tempo/util/utf8.h"

namespace tempo {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Parser {
 public:
  Parser(std::string_view text, const std::string& context, const JsonReadOptions& options)
      : text_(text), context_(context), options_(options) {}

  JsonValue parse_document() {
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail("unexpected data after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw JsonError(fmt::format("{}: invalid JSON at byte {}: {}", context_, pos_, what), pos_);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  void expect(char c) {
    skip_whitespace();
    if (at_end()) fail(fmt::format("expected '{}' but the text ends", c));
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }

  JsonValue parse_value(std::size_t depth) {
    if (++values_ > options_.max_values()) fail(fmt::format("more than {} values", options_.max_values()));
    skip_whitespace();
    if (at_end()) fail("expected a value but the text ends");
    switch (peek()) {
      case '{':
        return parse_object(depth);
      case '[':
        return parse_array(depth);
      case '"': {
        JsonValue value;
        value.kind = JsonValue::Kind::string;
        value.string = parse_string();
        return value;
      }
      case 't':
        return parse_literal("true", JsonValue::Kind::boolean, true);
      case 'f':
        return parse_literal("false", JsonValue::Kind::boolean, false);
      case 'n':
        return parse_literal("null", JsonValue::Kind::null, false);
      default:
        if (peek() == '-' || is_digit(peek())) return parse_number();
        fail(fmt::format("unexpected character '{}'", peek()));
    }
  }

  JsonValue parse_literal(std::string_view word, JsonValue::Kind kind, bool boolean) {
    if (text_.substr(pos_, word.size()) != word) fail("unknown literal");
    pos_ += word.size();
    JsonValue value;
    value.kind = kind;
    value.boolean = boolean;
    return value;
  }

  // Past the opening bracket of an object or array at `depth`; true when it closes at once.
  bool open_container(std::size_t depth, JsonValue& value, JsonValue::Kind kind, char close) {
    if (depth >= options_.max_depth()) fail(fmt::format("nesting deeper than {} levels", options_.max_depth()));
    ++pos_;
    value.kind = kind;
    skip_whitespace();
    if (peek() != close) return false;
    ++pos_;
    return true;
  }

  // After a member or element: true past a ',', false past the closing bracket.
  bool another(char close) {
    skip_whitespace();
    if (peek() == ',') {
      ++pos_;
      return true;
    }
    expect(close);
    return false;
  }

  JsonValue parse_object(std::size_t depth) {
    JsonValue value;
    if (open_container(depth, value, JsonValue::Kind::object, '}')) return value;
    std::unordered_set<std::string> keys;  // a linear find() per key would be quadratic
    do {
      skip_whitespace();
      if (peek() != '"') fail("expected a string key");
      const std::size_t key_pos = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) {
        pos_ = key_pos;
        fail(fmt::format("duplicate key \"{}\"", key));
      }
      expect(':');
      JsonValue member = parse_value(depth + 1);
      value.object.emplace_back(std::move(key), std::move(member));
    } while (another('}'));
    return value;
  }

  JsonValue parse_array(std::size_t depth) {
    JsonValue value;
    if (open_container(depth, value, JsonValue::Kind::array, ']')) return value;
    do {
      value.array.push_back(parse_value(depth + 1));
    } while (another(']'));
    return value;
  }

  bool skip_digits() {
    const std::size_t from = pos_;
    while (is_digit(peek())) ++pos_;
    return pos_ > from;
  }

  // RFC 8259's grammar, checked here; the value converted by from_chars (no locale).
  JsonValue parse_number() {
    const std::size_t start = pos_;
    JsonValue value;
    value.kind = JsonValue::Kind::number;
    if (peek() == '-') {
      value.negative = true;
      ++pos_;
    }
    if (!is_digit(peek())) fail("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1])) fail("leading zeros are not allowed");
    bool fits = true;
    while (is_digit(peek())) {
      const auto digit = static_cast<uint64_t>(peek() - '0');
      if (value.magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) fits = false;
      if (fits) value.magnitude = value.magnitude * 10 + digit;
      ++pos_;
    }
    const bool fraction_or_exponent = peek() == '.' || peek() == 'e' || peek() == 'E';
    if (fraction_or_exponent && options_.integers_only())
      fail("only integers are allowed, not fractions or exponents");
    if (peek() == '.') {
      ++pos_;
      if (!skip_digits()) fail("expected digits after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!skip_digits()) fail("expected digits in the exponent");
    }
    if (value.negative && value.magnitude > uint64_t{1} << 63) fits = false;
    if (!fits && options_.integers_only()) {
      pos_ = start;
      fail("integer does not fit in 64 bits");
    }
    value.integer = fits && !fraction_or_exponent;
    if (!value.integer) value.magnitude = 0;
    if (value.integer && value.magnitude == 0) value.negative = false;  // "-0" is the integer zero
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (std::from_chars(first, last, value.number).ec != std::errc()) {
      // Out of double's range: strtod's answer (an infinity, or zero for an underflow).
      value.number = std::strtod(std::string(first, last).c_str(), nullptr);
    }
    return value;
  }

  uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("\\u needs four hex digits");
    uint32_t code = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9')
        code |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        code |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        code |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("\\u needs four hex digits");
    }
    return code;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in string");
      if (c >= 0x80) {
        const std::size_t length = utf8_sequence_length(text_, pos_);
        if (length == 0) fail("invalid UTF-8");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t code = parse_hex4();
          if (code >= 0xDC00 && code <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in \\u escape");
            pos_ += 2;
            const uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate in \\u escape");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default:
          pos_ -= 2;  // point at the backslash
          fail(fmt::format("unknown escape '\\{}'", e));
      }
    }
  }

  std::string_view text_;
  const std::string& context_;
  const JsonReadOptions& options_;
  std::size_t values_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : object)
    if (name == key) return &value;
  return nullptr;
}

std::optional<double> JsonValue::as_number() const {
  if (kind == Kind::number) return number;
  if (kind == Kind::string) {
    if (string == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (string == "inf") return std::numeric_limits<double>::infinity();
    if (string == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

const char* to_string(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::null:
      return "null";
    case JsonValue::Kind::boolean:
      return "a boolean";
    case JsonValue::Kind::number:
      return "a number";
    case JsonValue::Kind::string:
      return "a string";
    case JsonValue::Kind::array:
      return "an array";
    case JsonValue::Kind::object:
      return "an object";
  }
  return "?";
}

JsonValue parse_json(std::string_view text, const std::string& context, const JsonReadOptions& options) {
  return Parser(text, context, options).parse_document();
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += fmt::format("\\u{:04x}", c);
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out += static_cast<char>(c);
    ++i;
  }
  return out + "\"";
}

std::string json_number(double value) {
  const std::string text = format_double(value);
  return std::isfinite(value) ? text : "\"" + text + "\"";
}

}  // namespace tempo
