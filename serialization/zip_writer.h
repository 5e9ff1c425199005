// Writes the zip container of a PyTorch checkpoint as torch.save does: every record stored
// (uncompressed) under one archive folder ("archive/data.pkl", "archive/data/0", ...), its data
// starting on a 64-byte boundary (padding in a local extra field, so a reader can map tensors in
// place), a "version" record last, then the directory; ZIP64 structures wherever a size, an offset
// or the record count needs them. torch.load, Python's zipfile and tempo's ZipReader read it.
//
// Each record's CRC-32 goes in a data descriptor after its data (flag bit 3, as PyTorch's own
// writer does), so the caller can checksum a record while its bytes are being written rather than
// in a pass of its own before. caffe2's writer computes a second checksum of its own, serially.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tempo {

class ZipWriter {
 public:
  // Receives the file's bytes in order; may throw, which abandons the zip.
  using Sink = std::function<void(const void* data, size_t size)>;

  // `always_zip64` writes the ZIP64 forms even where the 32-bit ones fit (for tests: real ZIP64
  // files start at 4 GiB).
  explicit ZipWriter(Sink sink, bool always_zip64 = false);

  // A record of `size` bytes named `name` inside the archive folder: its header now, then exactly
  // `size` bytes through write_data, then end_record with their CRC-32.
  void begin_record(const std::string& name, uint64_t size);
  void write_data(const void* data, size_t size);
  void end_record(uint32_t crc32);

  // The whole record at once, checksummed here.
  void write_record(const std::string& name, const void* data, size_t size);

  // Writes the "version" record, the directory and the end records. Nothing may follow.
  void finish();

  // Bytes handed to the sink so far.
  uint64_t offset() const { return offset_; }

 private:
  struct Entry {
    std::string name;  // with the archive folder
    uint64_t header_offset = 0;
    uint64_t size = 0;
    uint32_t crc32 = 0;
  };
  void put(const void* data, size_t size);
  bool large(uint64_t value) const;

  Sink sink_;
  bool always_zip64_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
  bool in_record_ = false;
  uint64_t data_left_ = 0;
  bool finished_ = false;
};

}  // namespace tempo
