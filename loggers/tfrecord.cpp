#include "tempo/loggers/tfrecord.h"

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <iterator>

#include "tempo/errors/error.h"
#include "tempo/util/checksum.h"
#include "tempo/util/coding.h"

namespace tempo {

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, mask_crc32c(crc32c(out.data(), 8)), 4);
  out.append(data.data(), data.size());
  put_le(out, mask_crc32c(crc32c(data)), 4);
  return out;
}

std::vector<std::string> parse_tfrecords(std::string_view bytes, const std::string& context) {
  std::vector<std::string> records;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) {
      throw DataError(fmt::format("{}: record at byte {} is torn: {} bytes left, a header takes 12", context, at,
                                  bytes.size() - at));
    }
    const uint64_t length = decode_fixed64(bytes.data() + at);
    const uint32_t length_crc = decode_fixed32(bytes.data() + at + 8);
    if (mask_crc32c(crc32c(bytes.data() + at, 8)) != length_crc) {
      throw DataError(fmt::format("{}: record at byte {}: the CRC of its length does not match", context, at));
    }
    if (length > bytes.size() - at - 12 || bytes.size() - at - 12 - length < 4) {
      throw DataError(fmt::format("{}: record at byte {} is torn: it says {} bytes, the file has {} left", context, at,
                                  length, bytes.size() - at - 12));
    }
    const auto data = bytes.substr(at + 12, length);
    const uint32_t data_crc = decode_fixed32(bytes.data() + at + 12 + length);
    if (mask_crc32c(crc32c(data)) != data_crc) {
      throw DataError(fmt::format("{}: record at byte {}: the CRC of its {} data bytes does not match", context, at,
                                  length));
    }
    records.emplace_back(data);
    at += 16 + length;
  }
  return records;
}

std::vector<std::string> read_tfrecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("cannot open '{}'", path));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_tfrecords(bytes, path);
}

}  // namespace tempo
