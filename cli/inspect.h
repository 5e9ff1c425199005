// `tempo inspect CHECKPOINT [--json] [--all]`: the anatomy of a checkpoint file, for people
// (an indented tree of keys with every tensor's dtype, shape and size, under a summary of the
// timestamp, run name, seed, versions, tensor bytes and file size) or, with --json, for
// machines (one JSON document: {"file", "format", "summary", "tree"}). Opens what
// open_weights_file opens (serialization/weights_file.h): tempo checkpoints, Python torch.save
// files (model or optimizer state_dicts) and safetensors files, by name or by content.
//
// Never throws: a file that cannot be read is one line on `err`, "tempo inspect: <reason>"
// naming the file, and exit status 2; bad usage prints the usage on `err` and returns 2;
// --help prints it on `out` and returns 0.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tempo::cli {

// The command as the `tempo` dispatcher runs it: args are those after "inspect"; writes to
// std::cout and std::cerr and returns the process exit status.
int inspect_command(const std::vector<std::string>& args);

// The same, writing to the given streams (for tests).
int run_inspect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
