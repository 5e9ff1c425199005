// Reads back a PNG as tempo writes it (8-bit RGB, filter 0 rows), checking its structure: the
// signature, every chunk's CRC-32, IHDR's fields, and that IDAT inflates to exactly the rows.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tempo::testing {

struct DecodedPng {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // rows top first, filter bytes removed
  std::vector<std::string> chunk_types;
  std::array<uint8_t, 3> pixel(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

inline uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) | static_cast<uint8_t>(s[at + 3]);
}

inline DecodedPng decode_png(const std::string& png) {
  DecodedPng out;
  REQUIRE(png.size() > 8);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  size_t at = 8;
  while (at < png.size()) {
    REQUIRE(png.size() - at >= 12);
    const uint32_t length = be32(png, at);
    REQUIRE(png.size() - at - 12 >= length);
    const std::string type = png.substr(at + 4, 4);
    const auto crc = ::crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), length + 4);
    CAPTURE(type);
    CHECK(be32(png, at + 8 + length) == static_cast<uint32_t>(crc));
    out.chunk_types.push_back(type);
    if (type == "IHDR") {
      REQUIRE(length == 13);
      out.width = static_cast<int>(be32(png, at + 8));
      out.height = static_cast<int>(be32(png, at + 12));
      CHECK(png[at + 16] == 8);  // bit depth
      CHECK(png[at + 17] == 2);  // RGB
      CHECK(png[at + 18] == 0);
      CHECK(png[at + 19] == 0);
      CHECK(png[at + 20] == 0);
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, length);
    }
    at += 12 + length;
  }
  REQUIRE(out.chunk_types.front() == "IHDR");
  REQUIRE(out.chunk_types.back() == "IEND");
  const size_t row = 1 + static_cast<size_t>(out.width) * 3;
  const size_t expected = row * static_cast<size_t>(out.height);
  std::vector<uint8_t> raw(expected + 1);
  uLongf size = static_cast<uLongf>(raw.size());
  REQUIRE(::uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) ==
          Z_OK);
  REQUIRE(size == expected);  // exactly the rows, no more
  for (int y = 0; y < out.height; ++y) {
    REQUIRE(raw[static_cast<size_t>(y) * row] == 0);  // filter: none
    out.rgb.insert(out.rgb.end(), raw.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(y) * row + 1),
                   raw.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(y + 1) * row));
  }
  return out;
}

}  // namespace tempo::testing
