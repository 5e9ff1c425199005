// A model's weights as a folder of safetensors shards, the layout Hugging Face tools write and read
// (Accelerate's save_model, transformers' save_pretrained, huggingface_hub's
// split_torch_state_dict_into_shards), and that folder read back.
//
// Layout of FOLDER: one shard -> FOLDER/model.safetensors alone, no index. N > 1 shards ->
// FOLDER/model-00001-of-0000N.safetensors ... model-0000N-of-0000N.safetensors and
// FOLDER/model.safetensors.index.json = {"metadata": {"total_size": <sum of tensor bytes>},
// "weight_map": {tensor name: shard file name}}.
//
// plan_safetensors_shards: tensors are taken in the given order; a new shard starts when adding the
//   next tensor would push the current, non-empty shard past max_shard_size, so a tensor larger
//   than the limit sits alone in its shard (transformers' shard_checkpoint; huggingface_hub instead
//   sets such a tensor aside and keeps filling the current shard, which reorders tensors; tempo
//   keeps the order). A shard's size is the sum of its tensors' bytes (headers not counted, as HF).
// write_sharded_safetensors: each shard is written atomically by write_safetensors with `metadata`
//   (so through `env`), then the index, last. Then what an earlier export left and this one does not
//   write is removed: model.safetensors, the index, other model-NNNNN-of-NNNNN.safetensors files.
//   A reader prefers model.safetensors to the index (as transformers and Accelerate do), and an old
//   index naming a shard about to be overwritten is removed first, so a reader of the folder sees
//   the complete old export, the complete new one, or (briefly, while same-named shards are
//   rewritten) no weights at all, never a mix. FOLDER is created when missing. Throws
//   CheckpointError naming the file and the fault (the folder may then hold some new shards).
// read_safetensors_folder: model.safetensors when present, else the index, validated strictly:
//   the metadata's integer total_size equals the listed tensors' bytes; every weight_map value is a
//   plain file name inside FOLDER (no '/', "." or "..") that exists; every listed tensor is in
//   the shard it names; no shard holds an unlisted tensor or one another shard holds too. Tensors
//   come in shard-file-name order, each shard in its header order (the export's order for tempo's
//   own exports); `metadata` gets the first shard's __metadata__. Throws CheckpointError naming the
//   file and the fault.
// parse_file_size: "2GB" = 2*10^9, "500MB", "10KB", "1TB" (powers of 1000); "1GiB" = 2^30, "MiB",
//   "KiB", "TiB" (powers of 1024); "123" or "123B" bytes. Units are case-insensitive (as
//   huggingface_hub's parse_size_to_int) and may follow the digits after spaces; the value must be
//   an integer of at least 1 byte that fits 64 bits. Throws ConfigError naming `what`, the value
//   and the forms expected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tempo/serialization/env.h"
#include "tempo/serialization/safetensors.h"

namespace tempo {

inline constexpr const char* kSafetensorsSingleFile = "model.safetensors";
inline constexpr const char* kSafetensorsIndexFile = "model.safetensors.index.json";

struct SafetensorsShard {
  std::string file;                  // the name inside the folder
  std::vector<std::size_t> tensors;  // indexes into the tensors given, in order
  uint64_t bytes = 0;                // the tensors' bytes
};

// Throws CheckpointError for an undefined tensor, a name given twice or max_shard_size 0.
std::vector<SafetensorsShard> plan_safetensors_shards(const NamedTensors& tensors, uint64_t max_shard_size);

// The shards written, as plan_safetensors_shards made them.
std::vector<SafetensorsShard> write_sharded_safetensors(const NamedTensors& tensors,
                                                        const std::map<std::string, std::string>& metadata,
                                                        const std::string& folder, uint64_t max_shard_size,
                                                        Env& env = Env::posix());

NamedTensors read_safetensors_folder(const std::string& folder,
                                     std::map<std::string, std::string>* metadata = nullptr);

// Whether `name` (no folder) is a shard name of this layout: model-NNNNN-of-NNNNN.safetensors.
bool is_safetensors_shard_name(const std::string& name);

uint64_t parse_file_size(const std::string& text, const std::string& what);

}  // namespace tempo
