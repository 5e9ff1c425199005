// `tempo train CONFIG.yaml [key=value ...] [--print-config] [--list-keys]`: one training run from
// a YAML config (configs/run_config.h) with dotted overrides. Every config error is one line on
// `err`, "tempo train: <file>:<line>:<col>: ..." and exit status 2, before anything is trained or
// written; --help prints the usage on `out` and returns 0; a failure after that (writing
// config.yaml or a checkpoint, training) and any exception that is not a tempo::Error or a
// c10::Error (from a user's own part, say) is one line "tempo train: ..." and status 1; a run
// stopped by signal N returns 128+N. Never throws (cli/main.h lists the statuses).
// With save_folder set, the resolved config is written to <save_folder>/config.yaml at the start.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tempo::cli {

// args are those after "train"; writes to std::cout and std::cerr.
int train_command(const std::vector<std::string>& args);
// The same, writing to the given streams (for tests).
int run_train(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
