// The `tempo` command line: `tempo train|inspect|export ...`, `tempo --version`, `tempo --help`.
// main() is a library function so that a user's own program can register its parts and then
// hand over:
//   int main(int argc, char** argv) {
//     tempo::config::registry().add_model("my_net", ...);
//     return tempo::cli::main(argc, argv);
//   }
// Returns the exit status: 0 done, 1 the command failed, 2 bad usage or input.
#pragma once

#include <string>

namespace tempo::cli {

int main(int argc, char** argv);
// "tempo 0.1.0 (LibTorch 1.13.0)"
std::string version();

}  // namespace tempo::cli
