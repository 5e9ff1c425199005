// A small strict JSON reader, and a quoting helper, for file headers that come from outside (the
// safetensors header). Untrusted input, so the reader is bounded and strict: UTF-8 only, nesting at
// most `max_depth` deep, at most `max_values` values in all (about 100 bytes of memory each: the
// text length alone would not bound memory), integers only (a fraction or exponent is rejected, as
// is an integer that does not fit 64 bits), no duplicate object keys, nothing but whitespace after
// the value. Object members keep their order of appearance. parse_json throws CheckpointError
// naming `context` (normally the file) and the byte offset of the fault. Free of LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo {

struct JsonValue {
  enum class Kind { null, boolean, integer, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  // An integer is kept as sign and magnitude so that both -2^63 and 2^64-1 fit and a negative
  // size can be reported as such instead of wrapping around.
  bool negative = false;
  uint64_t magnitude = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // keys unique, in file order

  // Null when absent; only meaningful for objects.
  const JsonValue* find(std::string_view key) const;
};

// "object", "array", ... for error messages.
const char* to_string(JsonValue::Kind kind);

JsonValue parse_json(std::string_view text, const std::string& context, std::size_t max_depth = 64,
                     std::size_t max_values = std::size_t{1} << 22);

// `text` as a quoted JSON string. Throws CheckpointError naming `context` if it is not valid UTF-8.
std::string json_quote(std::string_view text, const std::string& context);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace tempo
