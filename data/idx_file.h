// Reads an IDX file of unsigned bytes (the format of MNIST and Fashion-MNIST), gzip-compressed or
// plain, into a uint8 tensor shaped by the file's dimensions. One read straight into the tensor's
// memory, no intermediate buffer.
// Invariants: the result has `expected_dims` dimensions whose sizes are the file's, and the file
// held exactly that many bytes after its header.
// Throws: DataError naming the path and what is wrong: cannot open, read error, corrupt gzip
// stream, wrong magic number (not 0x000008 followed by expected_dims), truncated, trailing data.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace tempo {

at::Tensor read_idx_ubyte(const std::string& path, int expected_dims);

}  // namespace tempo
