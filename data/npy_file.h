// Reads a NumPy .npy file (format 1.0, 2.0 or 3.0) as a CPU tensor over a memory mapping of the
// file: nothing is read until used, and the mapping lives as long as any tensor that refers to it
// (the tensor's deleter unmaps it). The mapping is private and copy-on-write, so writing to the
// tensor never changes the file. Little-endian numeric dtypes only: <f2 <f4 <f8 <i2 <i4 <i8 |i1
// |u1 |b1 (1-byte types also as <i1 <u1 <b1), in C order. Data that is not aligned for its dtype
// (only hand-made files; NumPy pads the header to 64 bytes) is copied instead of mapped.
// Throws DataError "<path>: ..." naming the fault: unreadable, bad magic, unsupported version,
// truncated header or data, a header that is not a dict with descr, fortran_order and shape,
// fortran_order True, a big-endian or unsupported dtype, data longer than the shape says, a bool
// byte other than 0 or 1.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace tempo {

at::Tensor map_npy(const std::string& path);

}  // namespace tempo
