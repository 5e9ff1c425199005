#include "tempo/data/idx_file.h"

#include "tempo/errors/error.h"
#include "tempo/util/coding.h"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace tempo {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::string hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

uint32_t big_endian32(const unsigned char* p) { return static_cast<uint32_t>(decode_be(p, 4)); }

// zlib prefixes its messages with the path, which ours already start with.
std::string zlib_message(gzFile file, const std::string& path, int* code) {
  std::string message = gzerror(file, code);
  const std::string prefix = path + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
  return message;
}

// Reads up to `size` bytes, in chunks because gzread counts in unsigned int. Returns how many
// were read; a corrupt or truncated gzip stream is an error, not a short read.
int64_t read_fully(gzFile file, void* data, int64_t size, const std::string& path) {
  constexpr int64_t kChunk = int64_t{1} << 30;
  auto* out = static_cast<unsigned char*>(data);
  int64_t done = 0;
  while (done < size) {
    const auto want = static_cast<unsigned>(std::min(kChunk, size - done));
    const int got = gzread(file, out + done, want);
    if (got < 0) {
      int code = 0;
      const std::string message = zlib_message(file, path, &code);
      const std::string why = code == Z_ERRNO ? std::strerror(errno) : message;
      throw DataError(path + ": cannot read (" + why + "); the file is damaged");
    }
    if (got == 0) break;
    done += got;
  }
  int code = 0;
  const std::string message = zlib_message(file, path, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw DataError(path + ": corrupt or truncated gzip stream (" + message + ")");
  }
  return done;
}

}  // namespace

at::Tensor read_idx_ubyte(const std::string& path, int expected_dims) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open for reading");
  gzbuffer(file.get(), 1 << 17);

  const uint32_t expected_magic = 0x00000800u | static_cast<uint32_t>(expected_dims);
  unsigned char header[4];
  const int64_t got_magic = read_fully(file.get(), header, 4, path);
  const bool compressed = gzdirect(file.get()) == 0;
  if (got_magic < 4 || big_endian32(header) != expected_magic) {
    throw DataError(path + ": not an IDX file of " + std::to_string(expected_dims) +
                    "-dimensional unsigned bytes: magic number " +
                    (got_magic < 4 ? "missing (file has " + std::to_string(got_magic) + " bytes)"
                                   : hex32(big_endian32(header))) +
                    ", expected " + hex32(expected_magic) +
                    (compressed ? "" : " (the file is not gzip-compressed either)"));
  }

  std::vector<unsigned char> dims_raw(4 * static_cast<size_t>(expected_dims));
  const int64_t got_dims = read_fully(file.get(), dims_raw.data(),
                                      static_cast<int64_t>(dims_raw.size()), path);
  if (got_dims < static_cast<int64_t>(dims_raw.size())) {
    throw DataError(path + ": truncated in its header: expected " +
                    std::to_string(dims_raw.size()) + " bytes of dimensions, got " +
                    std::to_string(got_dims));
  }
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (int d = 0; d < expected_dims; ++d) {
    const int64_t size = big_endian32(&dims_raw[4 * static_cast<size_t>(d)]);
    if (size != 0 && numel > std::numeric_limits<int64_t>::max() / size) {
      throw DataError(path + ": dimensions in the header are too large to be real");
    }
    numel *= size;
    shape.push_back(size);
  }

  // A garbage header must not make us allocate terabytes: deflate cannot expand data more than
  // 1032-fold, so the file's own size bounds what it can hold.
  std::error_code ec;
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  const int64_t max_ratio = compressed ? 1032 : 1;
  if (!ec && numel / max_ratio > file_bytes) {
    throw DataError(path + ": truncated or corrupt: the header promises " + std::to_string(numel) +
                    " bytes of data, more than a file of " + std::to_string(file_bytes) +
                    " bytes can hold");
  }

  auto data = torch::empty(shape, torch::kUInt8);
  const int64_t got_data = read_fully(file.get(), data.data_ptr<uint8_t>(), numel, path);
  if (got_data < numel) {
    throw DataError(path + ": truncated: the header promises " + std::to_string(numel) +
                    " bytes of data, the file holds " + std::to_string(got_data));
  }
  unsigned char extra;
  if (read_fully(file.get(), &extra, 1, path) != 0) {
    throw DataError(path + ": has data past the " + std::to_string(numel) +
                    " bytes its header promises; the header is wrong or the file is not IDX");
  }
  return data;
}

}  // namespace tempo
