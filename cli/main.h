// The `tempo` command line: `tempo train|inspect|export ...`, `tempo --version`, `tempo --help`.
// main() is a library function so that a user's own program can register its parts and then
// hand over:
//   int main(int argc, char** argv) {
//     tempo::config::registry().add_model("my_net", ...);
//     return tempo::cli::main(argc, argv);
//   }
//
// Never throws. Every error is one line on stderr and an exit status:
//   0        done (also --help and --version);
//   2        bad usage (an unknown command or option, a missing argument), or input the command
//            cannot use: for train a config, data or load_path error, found before anything is
//            trained or written ("tempo train: run.yaml:3:1: ..."); for inspect, export and plot
//            any failure, reading or writing ("tempo inspect: 'x.pt': ...");
//   1        train: the run failed once started (config.yaml or a checkpoint could not be
//            written, a NaN loss), or an exception that is not tempo's or LibTorch's was thrown
//            at any point (by the user's own model, dataset or callback, say: "tempo train:
//            std::runtime_error: ..."); any command: an exception it did not expect, "tempo:
//            error: ...";
//   128+N    train: stopped by signal N (143 SIGTERM, 130 SIGINT) after finishing the batch and
//            saving a checkpoint; a second signal kills the process by the signal itself, which
//            a shell also reports as 128+N.
#pragma once

#include <string>

namespace tempo::cli {

int main(int argc, char** argv);
// "tempo 0.1.0 (LibTorch 1.13.0)"
std::string version();

}  // namespace tempo::cli
