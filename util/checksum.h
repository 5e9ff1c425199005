// The two CRCs tempo's file formats carry:
// - crc32: CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), the one zip entries and PNG chunks
//   hold; crc32("123456789") == 0xCBF43926. It is zlib's crc32(), whose sliced tables run at
//   several GB/s: checkpoint saves and loads pass every tensor byte through it.
// - crc32c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the one TFRecord framing
//   holds, table-driven (event files are small); crc32c("123456789") == 0xE3069283. With
//   TensorFlow's masking of it (mask_crc32c / unmask_crc32c, inverses of each other).
//
// Both continue from `crc`, the CRC of the bytes before (0 to start), so crc32(ab) ==
// crc32(b, size_b, crc32(a)); any size, including 0 and more than 4 GiB. The string_view forms
// start from 0 (no `crc` there: crc32(pointer, size) must never be taken for one). Free of LibTorch; throw nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tempo {

uint32_t crc32(const void* data, std::size_t size, uint32_t crc = 0);
inline uint32_t crc32(std::string_view bytes) { return crc32(bytes.data(), bytes.size()); }

uint32_t crc32c(const void* data, std::size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// TensorFlow's masked CRC, ((crc >> 15) | (crc << 17)) + 0xa282ead8, and its inverse: a CRC
// stored beside the data it covers is masked so that the CRC of data holding CRCs stays strong.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t unmask_crc32c(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace tempo
