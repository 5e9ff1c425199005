// Where the console loggers write: the process's stderr (the default, as Composer's) or stdout,
// or any std::ostream a program hands over (tests capture output this way). Every write is
// flushed at once, so lines reach a pipe or file while training runs. is_terminal() says whether
// redrawing a line in place makes sense: isatty() of stderr/stdout, false for a std::ostream,
// unless the caller forces it either way.
// Throws ConfigError for a stream name other than "stderr" or "stdout".
#pragma once

#include <cstdio>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace tempo {

// A stream handed to a logger by pointer (an alias, so options macros can take it by const&).
using OutputStream = std::ostream*;

class ConsoleOutput {
 public:
  // "stderr" or "stdout" (case-insensitive); `option` names the setting in the error message.
  ConsoleOutput(const std::string& stream, std::optional<bool> force_terminal, const std::string& option);
  // Writes to `stream` (kept by pointer: it must outlive this object); a terminal only if forced.
  ConsoleOutput(std::ostream* stream, std::optional<bool> force_terminal);

  void write(std::string_view text);
  bool is_terminal() const { return is_terminal_; }

 private:
  std::FILE* file_ = nullptr;
  std::ostream* stream_ = nullptr;
  bool is_terminal_ = false;
};

}  // namespace tempo
