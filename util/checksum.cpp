#include "tempo/util/checksum.h"

#include <zlib.h>

#include <algorithm>
#include <array>

namespace tempo {

uint32_t crc32(const void* data, std::size_t size, uint32_t crc) {
  uLong c = crc;
  const auto* p = static_cast<const Bytef*>(data);
  // zlib takes a uInt length: feed it at most 1 GiB at a time.
  while (size > 0) {
    const std::size_t n = std::min<std::size_t>(size, std::size_t{1} << 30);
    c = ::crc32(c, p, static_cast<uInt>(n));
    p += n;
    size -= n;
  }
  return static_cast<uint32_t>(c);
}

namespace {

std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

}  // namespace

uint32_t crc32c(const void* data, std::size_t size, uint32_t crc) {
  static const auto table = make_crc32c_table();
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace tempo
