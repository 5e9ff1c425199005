// TFRecord framing, the container of TensorBoard's event files: each record is
//   uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes,
//   `length` bytes of data, uint32 masked CRC-32C of the data.
// read_tfrecords checks both CRCs of every record and throws DataError naming the file, the
// record's offset and what is wrong (a torn last record included).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tempo {

// One framed record, ready to append to a file.
std::string tfrecord_frame(std::string_view data);

// The data of every record in `bytes` (`context` names it in messages).
std::vector<std::string> parse_tfrecords(std::string_view bytes, const std::string& context);
std::vector<std::string> read_tfrecords(const std::string& path);

}  // namespace tempo
