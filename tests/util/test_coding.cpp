#include <doctest/doctest.h>

#include <string>

#include "tempo/util/coding.h"

using namespace tempo;

TEST_SUITE("util") {
  TEST_CASE("coding: little-endian fixed widths, byte by byte") {
    std::string out;
    put_le(out, 0x0102, 2);
    put_le(out, 0x01020304, 4);
    put_le(out, 0x0102030405060708ull, 8);
    CHECK(out == std::string("\x02\x01\x04\x03\x02\x01\x08\x07\x06\x05\x04\x03\x02\x01", 14));
    CHECK(decode_fixed16(out.data()) == 0x0102);
    CHECK(decode_fixed32(out.data() + 2) == 0x01020304u);
    CHECK(decode_fixed64(out.data() + 6) == 0x0102030405060708ull);

    // High bytes decode unsigned (no sign extension), and a misaligned read is fine.
    const std::string high("\x00\xFF\xFE\xFD\xFC\xFB\xFA\xF9\xF8", 9);
    CHECK(decode_fixed16(high.data() + 1) == 0xFEFF);
    CHECK(decode_fixed32(high.data() + 1) == 0xFCFDFEFFu);
    CHECK(decode_fixed64(high.data() + 1) == 0xF8F9FAFBFCFDFEFFull);

    // Any width from 1 to 8 round-trips; bits above the width are dropped.
    for (int bytes = 1; bytes <= 8; ++bytes) {
      CAPTURE(bytes);
      const uint64_t value = 0x8877665544332211ull;
      const uint64_t mask = bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
      unsigned char buffer[8] = {};
      encode_le(buffer, value, bytes);
      CHECK(decode_le(buffer, bytes) == (value & mask));
      std::string text;
      put_le(text, value, bytes);
      REQUIRE(text.size() == static_cast<size_t>(bytes));
      CHECK(decode_le(text.data(), bytes) == (value & mask));
    }
  }

  TEST_CASE("coding: big-endian, as PNG and IDX store lengths") {
    std::string out;
    put_be(out, 0x0D, 4);  // an IHDR chunk's length
    put_be(out, 0x0102030405060708ull, 8);
    CHECK(out == std::string("\x00\x00\x00\x0D\x01\x02\x03\x04\x05\x06\x07\x08", 12));
    CHECK(decode_be(out.data(), 4) == 0x0D);
    CHECK(decode_be(out.data() + 4, 8) == 0x0102030405060708ull);
    CHECK(decode_be("\xFF\xFE", 2) == 0xFFFE);
  }
}
