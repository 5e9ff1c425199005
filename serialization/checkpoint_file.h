// Checkpoint files: a state tree stored in PyTorch's zip format, record for record what Python's
// torch.save writes (archive/data.pkl, archive/data/<key> per storage, archive/version = "3\n"),
// so torch.load(path) opens it, even with weights_only=True. This layer knows trees and files,
// not State.
// Writing is atomic and durable (see atomic_file.h); tensor bytes go from tensor memory to the
// file one storage at a time, never gathered into one buffer.
// Throws tempo::CheckpointError naming the file: for values the tree cannot hold (with their tree
// path), OS errors (with strerror), missing files, files that are not PyTorch checkpoints, and
// damaged or hostile content.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

namespace tempo {

void write_checkpoint(const c10::IValue& tree, const std::string& path);

// Tensors come back on the CPU, whatever device they were saved from.
c10::IValue read_checkpoint(const std::string& path);

}  // namespace tempo
