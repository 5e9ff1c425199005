// safetensors export and import (https://github.com/huggingface/safetensors), so weights can go to
// and come from inference tools without pickle. Layout: u64 little-endian header length N, N bytes
// of JSON {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}},
// padded with spaces to 8 bytes, then the tensors' row-major little-endian bytes, back to back.
//
// Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL (what LibTorch 1.13 can hold).
// Writing is atomic (temp file in the same folder, fsync, rename, fsync the folder) and streams each
// tensor from its own memory. Reading trusts nothing: header size bounded (<= 100 MB and the file),
// strict JSON, every entry checked (known dtype, shape matches its byte range, ranges tile the data
// buffer exactly with no gap or overlap, as the reference implementation requires), and each tensor
// read straight into its own storage. Both throw CheckpointError naming the file and the fault.
// Assumes a little-endian host (checked at compile time).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tempo/serialization/env.h"

namespace tempo {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Names must be unique, valid UTF-8 and not "__metadata__"; tensors may live on any device and
// have any strides (they are copied to contiguous CPU memory one at a time when needed). The header
// lists tensors in the given order and the data follows that order.
// Every file call goes through `env` (serialization/env.h).
void write_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                       const std::string& path, Env& env = Env::posix());

// The tensors in header order, as contiguous CPU tensors owning their memory. If `metadata` is
// given it is replaced by the file's "__metadata__" (empty when absent).
NamedTensors read_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

}  // namespace tempo
