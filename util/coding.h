// Fixed-width integers as bytes, in the byte orders tempo's file formats use: little-endian for
// zip, pickle, safetensors and TFRecord; big-endian for PNG chunks, IDX headers and pickle's
// BINFLOAT. One definition instead of a loop of shifts in every reader and writer (LevelDB's
// util/coding.h plays this part there).
//
// Every function takes a width `bytes`, requires 1 <= bytes <= 8, and works byte by byte, so it
// is right on any host and needs no alignment. Encoders write the low `bytes` bytes of `value`
// (higher bits are dropped); decoders read exactly `bytes` bytes and zero-extend.
// Inline: the readers call these for every field they parse. Free of LibTorch; throws nothing.
#pragma once

#include <cstdint>
#include <string>

namespace tempo {

inline void encode_le(void* dst, uint64_t value, int bytes) {
  auto* out = static_cast<unsigned char*>(dst);
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

inline uint64_t decode_le(const void* src, int bytes) {
  const auto* in = static_cast<const unsigned char*>(src);
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{in[i]} << (8 * i);
  return value;
}

inline void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
}

inline void put_be(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>(static_cast<unsigned char>(value >> (8 * i)));
}

inline uint64_t decode_be(const void* src, int bytes) {
  const auto* in = static_cast<const unsigned char*>(src);
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | in[i];
  return value;
}

// The widths zip and TFRecord fields have, by name.
inline uint16_t decode_fixed16(const void* src) { return static_cast<uint16_t>(decode_le(src, 2)); }
inline uint32_t decode_fixed32(const void* src) { return static_cast<uint32_t>(decode_le(src, 4)); }
inline uint64_t decode_fixed64(const void* src) { return decode_le(src, 8); }

}  // namespace tempo
