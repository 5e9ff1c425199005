// Running Debian's /usr/bin/python3 (which has torch 1.13) from tests; the first python3 on PATH
// may be another interpreter without torch. Tests that need it skip with a MESSAGE when it lacks torch.
#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

namespace tempo::testing {

inline const std::string kPython = "/usr/bin/python3";

inline bool python_has_torch() {
  static const bool has = std::system((kPython + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return has;
}

// Runs a script from tests/python with arguments; returns its exit status and everything it
// printed. `log` is a scratch file for the output.
inline std::pair<int, std::string> run_python_script(const std::string& script, const std::string& args,
                                                     const std::string& log) {
  const auto command = kPython + " " + TEMPO_SOURCE_DIR + "/tests/python/" + script + " " + args;
  const int rc = std::system((command + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  return {rc, std::string(std::istreambuf_iterator<char>(in), {})};
}

}  // namespace tempo::testing
