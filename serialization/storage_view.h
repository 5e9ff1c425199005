// A tensor viewing part of a storage read from a file, with its geometry checked first: sizes
// and strides non-negative, at most 64 dimensions, no overflow, and every addressable element
// inside the storage. So a hostile size or stride cannot make a view that reads past the bytes
// the file held. Throws tempo::CheckpointError prefixed with "checkpoint '<what>': ".
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tempo {

// `storage` is a 1-D contiguous tensor spanning the loaded storage; `offset` counts elements.
at::Tensor storage_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& strides, const std::string& what);

}  // namespace tempo
