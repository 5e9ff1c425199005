// Opening any file tempo takes weights or a checkpoint from, one way for every caller: the
// trainer's load_path, `tempo inspect` and `tempo export` accept exactly the same files.
//
// A file is read as safetensors when its name ends in ".safetensors" or when its bytes look like
// one whatever its name (`w.bin`): a little-endian header length, then the JSON header's '{' at
// byte 8 (a zip, what torch.save writes, starts with "PK" instead). Anything else is read as a
// PyTorch zip checkpoint (read_checkpoint): a tempo checkpoint, or a Python torch.save file such
// as a bare model or optimizer state_dict. A folder (symlinks followed) is read as Hugging Face's
// safetensors layout (read_safetensors_folder, serialization/sharded_safetensors.h): its
// model.safetensors, or the shards its model.safetensors.index.json lists, validated strictly.
//
// ensures: format is "safetensors"; "tempo" for a tree with Composer's anatomy (a "state" dict
//   holding one of "model", "timestamp", "metadata", "run_name"); else "torch". For safetensors
//   the tree is {name: tensor} in header order (a folder's shards in file-name order) and metadata
//   is the file's (a folder's first shard's) "__metadata__"; for
//   the others metadata is empty and progress is told how far the read is.
// throws: CheckpointError naming the path when the file is missing, unreadable or malformed.
#pragma once

#include <ATen/core/ivalue.h>

#include <map>
#include <string>

#include "tempo/serialization/checkpoint_file.h"

namespace tempo {

struct WeightsFile {
  std::string format;
  c10::IValue tree;
  std::map<std::string, std::string> metadata;
};

WeightsFile open_weights_file(const std::string& path, const CheckpointProgressFn& progress = {});

// Whether the regular file `path` starts as a safetensors file does (the test above, by content
// alone); false for a zip, a file shorter than 9 bytes, or a path that is not a regular file.
bool starts_as_safetensors(const std::string& path);

}  // namespace tempo
