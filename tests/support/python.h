// Running Python from tests: TEMPO_PYTHON, the interpreter CMake chose because its torch matches
// the LibTorch tempo links (the .venv with the torch 2.13 wheel for TEMPO_TORCH=wheel; Debian's
// /usr/bin/python3 with python3-torch for TEMPO_TORCH=debian). The first python3 on PATH may be
// another interpreter without torch.
//
// A test that needs it calls `if (skip_without_python_torch()) return;`: without such a Python it
// is skipped with a message, except where TEMPO_REQUIRE_PYTHON=1 (scripts/test.sh, so CI) makes
// the missing interpreter a failure: an interop test must not pass by not running.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#ifndef TEMPO_PYTHON
#define TEMPO_PYTHON ""
#endif

namespace tempo::testing {

inline const std::string kPython = std::string(TEMPO_PYTHON).empty() ? "/usr/bin/python3" : TEMPO_PYTHON;

inline bool python_has_torch() {
  static const bool has = std::system((kPython + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return has;
}

inline bool python_required() {
  const char* required = std::getenv("TEMPO_REQUIRE_PYTHON");
  return required != nullptr && std::string(required) == "1";
}

// True (after a MESSAGE, or a FAIL under TEMPO_REQUIRE_PYTHON=1) when kPython cannot import torch.
inline bool skip_without_python_torch() {
  if (python_has_torch()) return false;
  if (python_required()) {
    FAIL_CHECK(kPython << " cannot import torch, and TEMPO_REQUIRE_PYTHON=1: "
                       << "scripts/install_deps.sh makes .venv with it");
  } else {
    MESSAGE("skipped: " << kPython << " cannot import torch");
  }
  return true;
}

// The same for a module the interop test needs beside torch (composer, tensorboard): scripts/
// install_deps.sh --tests installs them into .venv. `probe` is the Python code that imports it.
inline bool skip_without_python_module(const std::string& module, const std::string& probe = "") {
  if (skip_without_python_torch()) return true;
  const auto code = probe.empty() ? " -c 'import " + module + "'" : " " + probe;
  if (std::system((kPython + code + " >/dev/null 2>&1").c_str()) == 0) return false;
  if (python_required()) {
    FAIL_CHECK(kPython << " cannot import " << module
                       << ", and TEMPO_REQUIRE_PYTHON=1: scripts/install_deps.sh --tests installs it into .venv");
  } else {
    MESSAGE("skipped: " << kPython << " cannot import " << module);
  }
  return true;
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
