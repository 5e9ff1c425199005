// JSON for the file logger's records, one object per line (JSON Lines): writing the pieces of a
// record, and reading a line back (the `tempo plot` command and tests do). The reader takes any
// JSON value, numbers as doubles; it is bounded (nesting at most 32 deep) and strict (nothing but
// whitespace after the value). Non-finite numbers are written as the strings "nan", "inf" and
// "-inf", since JSON has no literal for them; as_number() reads them back.
// parse_json_line throws DataError naming `context` (file and line) and the byte offset.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo {

// `text` as a JSON string literal: quotes, backslashes and control characters escaped; other
// bytes are copied as they are.
std::string json_string(std::string_view text);
// The shortest text that reads back as exactly `value`; non-finite values as strings (see above).
std::string json_number(double value);

struct JsonNode {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonNode> array;
  std::vector<std::pair<std::string, JsonNode>> object;  // in file order

  // The member `key` of an object; null when absent or not an object.
  const JsonNode* find(std::string_view key) const;
  // A number, or one of the strings "nan", "inf", "-inf"; otherwise nullopt.
  std::optional<double> as_number() const;
};

JsonNode parse_json_line(std::string_view text, const std::string& context);

}  // namespace tempo
