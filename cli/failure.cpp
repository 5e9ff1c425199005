#include "tempo/cli/failure.h"

#include <c10/util/Exception.h>
#include <c10/util/Type.h>

#include <exception>
#include <filesystem>
#include <new>
#include <typeinfo>

#include "tempo/errors/error.h"

namespace tempo::cli {

namespace {

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// "std::runtime_error", without the ABI tags of libstdc++'s inline namespaces.
std::string type_name(const std::exception& e) {
  auto name = c10::demangle(typeid(e).name());
  for (const std::string tag : {"__cxx11::", "[abi:cxx11]"}) {
    for (auto at = name.find(tag); at != std::string::npos; at = name.find(tag)) name.erase(at, tag.size());
  }
  return name;
}

}  // namespace

std::string current_exception_message() {
  try {
    throw;
  } catch (const Error& e) {
    return one_line(e.what());
  } catch (const c10::Error& e) {
    return one_line(e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return "out of memory (std::bad_alloc)";
  } catch (const std::filesystem::filesystem_error& e) {
    return one_line(e.what());  // "filesystem error: cannot create directories: File exists [path]"
  } catch (const std::exception& e) {
    // The type says where to look when the message alone does not ("vector::_M_range_check").
    return one_line(type_name(e) + ": " + e.what());
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

bool current_exception_is_tempo_error() {
  try {
    throw;
  } catch (const Error&) {
    return true;
  } catch (const c10::Error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace tempo::cli
