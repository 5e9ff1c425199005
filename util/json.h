// JSON, read and written the one way tempo does it everywhere: safetensors headers (untrusted
// input), the file logger's JSON Lines records and `tempo plot`'s reading of them, and
// `tempo inspect --json`.
//
// Reading (parse_json) is bounded and strict, since the text may come from anyone: the value must
// be the whole text (whitespace around it aside); strings must be valid UTF-8 (util/utf8.h) with
// \u escapes paired into code points (a lone surrogate is refused); nesting at most
// options.max_depth() deep; at most options.max_values() values in all (each costs about 100
// bytes, so the text length alone would not bound memory); no duplicate keys in an object;
// numbers as the grammar of RFC 8259 has them (no leading zeros, "1." or "+1"), and with
// options.integers_only() only integers that fit 64 bits. Object members keep their order.
// Throws JsonError, "<context>: invalid JSON at byte <offset>: <what>", naming where the text
// fails.
//
// Writing: json_quote makes any bytes a JSON string literal that is valid UTF-8; json_number
// writes doubles round-trip exactly, and as the strings "nan", "inf", "-inf" the values JSON has
// no literal for (JsonValue::as_number reads those back). Free of LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tempo/errors/error.h"

namespace tempo {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0;  // any number, as the nearest double
  // A number written as an integer (no fraction or exponent) that fits 64 bits is also kept
  // exactly, as sign and magnitude, so both -2^63 and 2^64-1 fit and a negative size can be
  // reported as such rather than wrap around. "-0" is the integer 0.
  bool integer = false;
  bool negative = false;
  uint64_t magnitude = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // keys unique, in text order

  // The member `key` of an object; null when absent or when this is not an object.
  const JsonValue* find(std::string_view key) const;
  // A number, or one of the strings "nan", "inf", "-inf" (see json_number); otherwise nullopt.
  std::optional<double> as_number() const;
};

// "null", "a boolean", "a number", "a string", "an array", "an object": for error messages.
const char* to_string(JsonValue::Kind kind);

// Limits of parse_json, chained in LibTorch's options style: JsonReadOptions().max_depth(8).
class JsonReadOptions {
 public:
  JsonReadOptions& max_depth(std::size_t depth) {
    max_depth_ = depth;
    return *this;
  }
  std::size_t max_depth() const { return max_depth_; }
  JsonReadOptions& max_values(std::size_t values) {
    max_values_ = values;
    return *this;
  }
  std::size_t max_values() const { return max_values_; }
  // Refuse fractions, exponents and integers beyond 64 bits (sizes and offsets must be exact).
  JsonReadOptions& integers_only(bool only) {
    integers_only_ = only;
    return *this;
  }
  bool integers_only() const { return integers_only_; }

 private:
  std::size_t max_depth_ = 64;
  std::size_t max_values_ = std::size_t{1} << 22;
  bool integers_only_ = false;
};

class JsonError : public Error {
 public:
  JsonError(const std::string& message, std::size_t offset) : Error(message), offset_(offset) {}
  // Where in the text the fault is, in bytes from its start.
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

// `context` names the text in the error message (a file, "file:line").
JsonValue parse_json(std::string_view text, const std::string& context,
                     const JsonReadOptions& options = JsonReadOptions());

// `text` as a JSON string literal: '"', '\\' and control characters escaped, valid UTF-8 copied
// as it is, and each byte that is not part of valid UTF-8 written as the code point of the same
// value (\u00XX), so the literal is always valid JSON. Callers that must not alter a string check
// is_valid_utf8 first.
std::string json_quote(std::string_view text);

// `value` as format_double writes it (util/number_format.h), which is valid JSON for finite
// values; NaN and the infinities as the strings "nan", "inf", "-inf".
std::string json_number(double value);

}  // namespace tempo
