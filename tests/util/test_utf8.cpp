#include <doctest/doctest.h>

#include <string>

#include "tempo/util/utf8.h"

using namespace tempo;

TEST_SUITE("util") {
  TEST_CASE("utf8: well-formed text of every length is valid") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii \x01\x7f"));
    CHECK(is_valid_utf8("\xC2\x80"));              // U+0080, the smallest 2-byte form
    CHECK(is_valid_utf8("\xDF\xBF"));              // U+07FF
    CHECK(is_valid_utf8("\xE0\xA0\x80"));          // U+0800, the smallest 3-byte form
    CHECK(is_valid_utf8("\xED\x9F\xBF"));          // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xEE\x80\x80"));          // U+E000, just above them
    CHECK(is_valid_utf8("\xEF\xBF\xBF"));          // U+FFFF
    CHECK(is_valid_utf8("\xF0\x90\x80\x80"));      // U+10000, the smallest 4-byte form
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the largest code point
    CHECK(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
    CHECK(utf8_sequence_length("\xF0\x9F\x98\x80", 0) == 4);
    CHECK(utf8_sequence_length("a\xC3\xA9", 1) == 2);
    CHECK(utf8_sequence_length("a", 1) == 0);  // past the end
  }

  TEST_CASE("utf8: overlongs, surrogates, out-of-range and broken sequences are refused") {
    for (const char* bad : {
             "\xC0\x80", "\xC1\xBF",          // overlong 2-byte forms (C0, C1 are never valid)
             "\xE0\x80\x80", "\xE0\x9F\xBF",  // overlong 3-byte forms
             "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",  // overlong 4-byte forms
             "\xED\xA0\x80", "\xED\xBF\xBF",  // surrogates U+D800 and U+DFFF
             "\xF4\x90\x80\x80",              // U+110000
             "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80", "\xFF",  // lead bytes that never occur
             "\x80", "\xBF",                  // a continuation byte alone
             "\xC3", "\xE2\x82", "\xF0\x9F\x98",  // truncated
             "\xC3\x28", "\xE2\x28\xA1",      // a non-continuation inside
         }) {
      CAPTURE(std::string(bad));
      CHECK_FALSE(is_valid_utf8(bad));
      CHECK_FALSE(is_valid_utf8(std::string("ok ") + bad + " ok"));
      CHECK(utf8_sequence_length(bad, 0) == 0);
    }
  }

  TEST_CASE("utf8: append_utf8 writes the shortest form, which reads back as valid") {
    const struct {
      uint32_t code;
      const char* bytes;
    } cases[] = {{0x24, "$"},
                 {0x7F, "\x7F"},
                 {0x80, "\xC2\x80"},
                 {0xE9, "\xC3\xA9"},
                 {0x7FF, "\xDF\xBF"},
                 {0x800, "\xE0\xA0\x80"},
                 {0x20AC, "\xE2\x82\xAC"},
                 {0xFFFF, "\xEF\xBF\xBF"},
                 {0x10000, "\xF0\x90\x80\x80"},
                 {0x1F600, "\xF0\x9F\x98\x80"},
                 {0x10FFFF, "\xF4\x8F\xBF\xBF"}};
    for (const auto& c : cases) {
      CAPTURE(c.code);
      std::string out;
      append_utf8(out, c.code);
      CHECK(out == c.bytes);
      CHECK(is_valid_utf8(out));
    }
  }
}
