#include "tempo/plot/png_writer.h"

#include <zlib.h>

#include <cstdint>
#include <string>

#include "tempo/errors/error.h"
#include "tempo/util/checksum.h"
#include "tempo/util/coding.h"

namespace tempo::plot {

namespace {

void put_be32(std::string& out, uint64_t value) { put_be(out, value, 4); }

// length, type, data, CRC-32 of type and data.
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_be32(out, data.size());
  const size_t start = out.size();
  out.append(type, 4);
  out += data;
  put_be32(out, crc32(out.data() + start, 4 + data.size()));
}

}  // namespace

std::string encode_png(const Canvas& canvas) {
  const auto width = static_cast<size_t>(canvas.width()), height = static_cast<size_t>(canvas.height());
  std::string raw;
  raw.reserve(height * (1 + width * 3));
  const auto& rgb = canvas.rgb();
  for (size_t y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    raw.append(reinterpret_cast<const char*>(rgb.data() + y * width * 3), width * 3);
  }
  uLongf size = ::compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(size, '\0');
  const int rc = ::compress2(reinterpret_cast<Bytef*>(compressed.data()), &size,
                             reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                             Z_BEST_COMPRESSION);
  if (rc != Z_OK) {
    throw PlotError("cannot encode a " + std::to_string(width) + "x" + std::to_string(height) +
                    " chart as PNG: zlib's compress2 failed: " + ::zError(rc));
  }
  compressed.resize(size);

  std::string ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr += '\x08';  // bit depth
  ihdr += '\x02';  // colour type: RGB
  ihdr += '\0';    // compression: deflate
  ihdr += '\0';    // filter method 0
  ihdr += '\0';    // no interlace

  std::string out("\x89PNG\r\n\x1a\n", 8);
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", compressed);
  put_chunk(out, "IEND", "");
  return out;
}

}  // namespace tempo::plot
