// `tempo inspect CHECKPOINT [--json] [--all]`: the anatomy of a checkpoint file, for people
// (an indented tree of keys with every tensor's dtype, shape and size, under a summary of the
// timestamp, run name, seed, versions, tensor bytes and file size) or, with --json, for
// machines (one JSON document: {"file", "format", "summary", "tree"}). Opens tempo checkpoints,
// Python torch.save files (model or optimizer state_dicts) and safetensors files.
//
// Never throws: a file that cannot be read is one line on `err`, "tempo inspect: <reason>"
// naming the file, and exit status 2; bad usage prints the usage on `err` and returns 2;
// --help prints it on `out` and returns 0.
#pragma once

#include <ATen/core/ivalue.h>

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace tempo::cli {

// A file as inspect and export see it. format is "safetensors" (by the .safetensors extension or
// by content), "tempo" (a tree with Composer's {"state": {"model", "timestamp", ...}} anatomy) or
// "torch" (any other torch.save file, e.g. a model or optimizer state_dict). For safetensors the
// tree is {name: tensor} in header order and metadata is the file's "__metadata__".
// Throws CheckpointError naming the path when the file cannot be read.
struct CheckpointFile {
  std::string format;
  c10::IValue tree;
  std::map<std::string, std::string> metadata;
};
CheckpointFile open_checkpoint_file(const std::string& path);

// The command as the `tempo` dispatcher runs it: args are those after "inspect"; writes to
// std::cout and std::cerr and returns the process exit status.
int inspect_command(const std::vector<std::string>& args);

// The same, writing to the given streams (for tests).
int run_inspect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
