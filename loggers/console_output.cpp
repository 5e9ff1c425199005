#include "tempo/loggers/console_output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ostream>

#include "tempo/errors/error.h"

namespace tempo {

ConsoleOutput::ConsoleOutput(const std::string& stream, std::optional<bool> force_terminal, const std::string& option) {
  std::string name = stream;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name == "stderr") {
    file_ = stderr;
  } else if (name == "stdout") {
    file_ = stdout;
  } else {
    throw ConfigError(fmt::format("{}: expected \"stderr\" or \"stdout\", got \"{}\"", option, stream));
  }
  is_terminal_ = force_terminal.value_or(::isatty(::fileno(file_)) == 1);
}

ConsoleOutput::ConsoleOutput(std::ostream* stream, std::optional<bool> force_terminal)
    : stream_(stream), is_terminal_(force_terminal.value_or(false)) {
  if (!stream_) throw ConfigError("console output: the stream is null");
}

void ConsoleOutput::write(std::string_view text) {
  if (stream_) {
    stream_->write(text.data(), static_cast<std::streamsize>(text.size()));
    stream_->flush();
    return;
  }
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace tempo
