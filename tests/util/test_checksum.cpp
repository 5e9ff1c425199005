#include <doctest/doctest.h>

#include <string>

#include "tempo/util/checksum.h"

using namespace tempo;

TEST_SUITE("util") {
  TEST_CASE("checksum: CRC-32 known answers and extension") {
    CHECK(crc32("123456789") == 0xCBF43926u);
    CHECK(crc32("") == 0u);
    CHECK(crc32("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
    CHECK(crc32(std::string(32, '\0')) == 0x190A55ADu);
    CHECK(crc32("6789", 4, crc32("12345")) == 0xCBF43926u);
    CHECK(crc32(nullptr, 0, 0xCBF43926u) == 0xCBF43926u);  // nothing more leaves it as it was
  }

  TEST_CASE("checksum: CRC-32C known answers, extension and masking") {
    CHECK(crc32c("123456789") == 0xE3069283u);
    CHECK(crc32c("") == 0u);
    // RFC 3720 (iSCSI) B.4 test vectors.
    std::string zeros(32, '\0'), ones(32, '\xFF'), ascending, descending;
    for (int i = 0; i < 32; ++i) ascending += static_cast<char>(i);
    for (int i = 31; i >= 0; --i) descending += static_cast<char>(i);
    CHECK(crc32c(zeros) == 0x8A9136AAu);
    CHECK(crc32c(ones) == 0x62A8AB43u);
    CHECK(crc32c(ascending) == 0x46DD794Eu);
    CHECK(crc32c(descending) == 0x113FDB5Cu);
    CHECK(crc32c("6789", 4, crc32c("12345")) == 0xE3069283u);
    for (uint32_t v : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) CHECK(unmask_crc32c(mask_crc32c(v)) == v);
    CHECK(mask_crc32c(0) == 0xa282ead8u);
  }

  TEST_CASE("checksum: a buffer fed in pieces sums as one") {
    std::string data;
    for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 131 + 7);
    const uint32_t whole = crc32(data), whole_c = crc32c(data);
    uint32_t piecewise = 0, piecewise_c = 0;
    for (size_t at = 0; at < data.size(); at += 4093) {
      const auto piece = std::string_view(data).substr(at, 4093);
      piecewise = crc32(piece.data(), piece.size(), piecewise);
      piecewise_c = crc32c(piece.data(), piece.size(), piecewise_c);
    }
    CHECK(piecewise == whole);
    CHECK(piecewise_c == whole_c);
  }
}
