// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as TFRecord framing
// needs it, and TensorFlow's masking of it. crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tempo {

// The CRC of `size` bytes, continuing from `crc` (the CRC of what came before; 0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// TensorFlow's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, and its inverse.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace tempo
