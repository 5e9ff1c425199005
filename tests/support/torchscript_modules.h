// The TorchScript modules the torchscript tests load (tests/python/torchscript_modules.py lists
// them: mlp.pt, mlp_loss.pt, nested.pt, ...), written once per test process by kPython into a
// temporary folder. Call after skip_without_python_torch().
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "support/python.h"
#include "support/temp_dir.h"

namespace tempo::testing {

// The folder holding the modules; "" (after a failed check) when the script failed.
inline std::string torchscript_modules() {
  static TempDir dir;
  static const bool made = [] {
    const auto result = run_python_script("torchscript_modules.py", dir.path(), dir / "log.txt");
    if (result.first != 0) FAIL_CHECK("tests/python/torchscript_modules.py failed: " << result.second);
    return result.first == 0;
  }();
  return made ? dir.path() : "";
}

}  // namespace tempo::testing
