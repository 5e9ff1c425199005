#include "serialization/json_header.h"

#include <fmt/format.h>

#include <unordered_set>

#include "errors/error.h"

namespace tempo {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is malformed.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  // Payload bits of the lead byte and the sequence length its prefix announces.
  std::size_t length = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& context, std::size_t max_depth, std::size_t max_values)
      : text_(text), context_(context), max_depth_(max_depth), max_values_(max_values) {}

  JsonValue parse_document() {
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail("unexpected data after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError(fmt::format("{}: invalid JSON header, at byte {} of the header: {}", context_, pos_, what));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  void expect(char c) {
    skip_whitespace();
    if (at_end()) fail(fmt::format("expected '{}' but the header ends", c));
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }

  JsonValue parse_value(std::size_t depth) {
    if (++values_ > max_values_) fail(fmt::format("more than {} values", max_values_));
    skip_whitespace();
    if (at_end()) fail("expected a value but the header ends");
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
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_integer();
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

  void enter(std::size_t depth) const {
    if (depth >= max_depth_) fail(fmt::format("nesting deeper than {} levels", max_depth_));
  }

  JsonValue parse_object(std::size_t depth) {
    enter(depth);
    ++pos_;  // '{'
    JsonValue value;
    value.kind = JsonValue::Kind::object;
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      return value;
    }
    std::unordered_set<std::string> keys;  // a linear find() per key would be quadratic
    while (true) {
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
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return value;
    }
  }

  JsonValue parse_array(std::size_t depth) {
    enter(depth);
    ++pos_;  // '['
    JsonValue value;
    value.kind = JsonValue::Kind::array;
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      return value;
    }
    while (true) {
      value.array.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return value;
    }
  }

  JsonValue parse_integer() {
    JsonValue value;
    value.kind = JsonValue::Kind::integer;
    if (peek() == '-') {
      value.negative = true;
      ++pos_;
    }
    if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
      fail("leading zeros are not allowed");
    while (peek() >= '0' && peek() <= '9') {
      const uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (value.magnitude > (UINT64_MAX - digit) / 10) fail("integer does not fit in 64 bits");
      value.magnitude = value.magnitude * 10 + digit;
      ++pos_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') fail("only integers are allowed, not fractions or exponents");
    if (value.negative && value.magnitude > uint64_t{1} << 63) fail("integer does not fit in 64 bits");
    if (value.magnitude == 0) value.negative = false;  // "-0" is zero
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
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in string");
      if (c != '\\') {
        const std::size_t length = utf8_sequence_length(text_, pos_);
        if (length == 0) fail("invalid UTF-8");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      ++pos_;
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
          --pos_;  // point at the backslash
          fail(fmt::format("unknown escape '\\{}'", e));
      }
    }
  }

  std::string_view text_;
  const std::string& context_;
  std::size_t max_depth_;
  std::size_t max_values_;
  std::size_t values_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : object)
    if (name == key) return &value;
  return nullptr;
}

const char* to_string(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::null:
      return "null";
    case JsonValue::Kind::boolean:
      return "a boolean";
    case JsonValue::Kind::integer:
      return "an integer";
    case JsonValue::Kind::string:
      return "a string";
    case JsonValue::Kind::array:
      return "an array";
    case JsonValue::Kind::object:
      return "an object";
  }
  return "?";
}

JsonValue parse_json(std::string_view text, const std::string& context, std::size_t max_depth, std::size_t max_values) {
  return Parser(text, context, max_depth, max_values).parse_document();
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string json_quote(std::string_view text, const std::string& context) {
  if (!is_valid_utf8(text)) throw CheckpointError(fmt::format("{}: a name or value is not valid UTF-8", context));
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
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
      out += ch;
  }
  return out + "\"";
}

}  // namespace tempo
