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

#include <cstdint>
#include <functional>
#include <string>

#include "tempo/serialization/env.h"

namespace tempo {

// Told how many of the file's bytes are written or read so far: first 0, then every few MiB,
// last the total; called on the calling thread.
using CheckpointProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Every file call goes through `env` (serialization/env.h).
void write_checkpoint(const c10::IValue& tree, const std::string& path, const CheckpointProgressFn& progress = {},
                      Env& env = Env::posix());

// Tensors come back on the CPU, whatever device they were saved from. Storages of 4 KiB and more
// point into the file, memory-mapped copy-on-write (see ZipReader::map), so loading costs one
// read of the file plus the copy into the tensors the tree is loaded into; smaller ones, and
// every record of a file that cannot be mapped, are read into memory of their own.
c10::IValue read_checkpoint(const std::string& path, const CheckpointProgressFn& progress = {});

}  // namespace tempo
