// How a command reports the exception that ends it: one line and an exit status, never
// std::terminate. Every command catches everything it does not expect (`catch (...)`) and calls
// these inside the handler; cli/main.h lists the statuses.
#pragma once

#include <string>

namespace tempo::cli {

// The exception being handled, as one line (no newline): a tempo::Error's message as it is (it
// names the file, key or value at fault), a c10::Error's without its backtrace, "out of memory
// (std::bad_alloc)", and for any other std::exception (a user's callback or model, the standard
// library) its type and message, "std::runtime_error: <what>" (a std::filesystem error as it is:
// it names the paths). Line breaks inside a message become spaces. Requires: called inside a
// catch block.
std::string current_exception_message();

// Whether the exception being handled is one tempo raises for input it cannot use (a tempo::Error
// or a c10::Error: a bad config, unreadable data or checkpoint), rather than a fault elsewhere (a
// user's code, the standard library, memory). Requires: called inside a catch block.
bool current_exception_is_tempo_error();

}  // namespace tempo::cli
