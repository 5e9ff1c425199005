// `tempo export CHECKPOINT [--format safetensors] [--max-shard-size SIZE] OUT`: a checkpoint's
// model weights as a file other tools read without pickle. The weights are state/model of a tempo
// checkpoint, a bare model state_dict saved by Python's torch.save, or the tensors of a
// safetensors file or folder; they are
// written in the tree's order with metadata {"format": "pt", "source": CHECKPOINT,
// "tempo_version": ...}. --format torchscript [--module MODULE] writes instead the TorchScript
// module a run trained (model: {torchscript: ...}) with the checkpoint's weights, by the rules of
// cli/export_torchscript.h; --module applies to it alone, --max-shard-size not to it.
// OUT is written atomically (a temporary, then a rename) and only where nothing is lost: a new
// path, an empty file or a safetensors file; any other regular file (above all a training
// checkpoint, as with swapped arguments) only with --force; never a symlink, folder, device, FIFO
// or socket, nor CHECKPOINT itself.
// With --max-shard-size SIZE (serialization/sharded_safetensors.h: "500MB", "2GB", "1GiB", bytes)
// OUT is a folder, created if missing, written as Hugging Face's layout (write_sharded_safetensors:
// model.safetensors, or model-0000K-of-0000N.safetensors shards and model.safetensors.index.json;
// an earlier export's files that this one does not write are removed). OUT must then be a new path
// or a folder (not a link, a file or CHECKPOINT itself), and each file in it the export may replace
// or remove follows the rules above (the index: a regular file); a bad SIZE is refused before
// anything is read. CHECKPOINT may itself be such a folder (serialization/weights_file.h).
//
// Never throws: a refused OUT, an unreadable checkpoint, one without model weights, an unknown
// format or a failed write is one line on `err` ("tempo export: <reason>") and exit status 2; bad usage
// prints the usage on `err` and returns 2; --help prints it on `out` and returns 0. On success
// prints "exported N tensors (B bytes) to OUT" on `out` (with --max-shard-size followed by
// " in K shard(s) (FIRST FILE[ ... and model.safetensors.index.json])") and returns 0.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace tempo::cli {

// The command as the `tempo` dispatcher runs it: args are those after "export"; writes to
// std::cout and std::cerr and returns the process exit status.
int export_command(const std::vector<std::string>& args);

// The same, writing to the given streams (for tests).
int run_export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Why OUT must not be written, or "" when it may: a new path, an empty file or a file of the
// export's own `kind` ("safetensors", "TorchScript"; `is_kind` tells one); with `force` any
// regular file. Never a link, folder, device, FIFO or socket (an atomic rename would replace the
// node itself), nor CHECKPOINT itself. Shared by every export format.
std::string refuse_export_target(const std::string& source, const std::string& target, bool force,
                                 const std::string& kind, const std::function<bool(const std::string&)>& is_kind);

}  // namespace tempo::cli
