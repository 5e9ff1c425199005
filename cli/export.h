// `tempo export CHECKPOINT [--format safetensors] OUT`: a checkpoint's model weights as a file
// other tools read without pickle. The weights are state/model of a tempo checkpoint, a bare
// model state_dict saved by Python's torch.save, or the tensors of a safetensors file; they are
// written in the tree's order with metadata {"format": "pt", "source": CHECKPOINT,
// "tempo_version": ...}. Only safetensors is supported as output format for now.
// OUT is written atomically (a temporary, then a rename) and only where nothing is lost: a new
// path, an empty file or a safetensors file; any other regular file (above all a training
// checkpoint, as with swapped arguments) only with --force; never a symlink, folder, device, FIFO
// or socket, nor CHECKPOINT itself.
//
// Never throws: a refused OUT, an unreadable checkpoint, one without model weights, an unknown
// format or a failed write is one line on `err` ("tempo export: <reason>") and exit status 2; bad usage
// prints the usage on `err` and returns 2; --help prints it on `out` and returns 0. On success
// prints "exported N tensors (B bytes) to OUT" on `out` and returns 0.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tempo::cli {

// The command as the `tempo` dispatcher runs it: args are those after "export"; writes to
// std::cout and std::cerr and returns the process exit status.
int export_command(const std::vector<std::string>& args);

// The same, writing to the given streams (for tests).
int run_export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
