// A bounded reader for the zip container of PyTorch checkpoints (what torch.save and caffe2's
// PyTorchStreamWriter write: stored, uncompressed entries under one archive folder). It exists
// because LibTorch 1.13's own reader (miniz behind PyTorchStreamReader) crashes or allocates
// without bound on malformed input (pytorch#77573, #77575, #74798); nothing unverified reaches it.
//
// Opening validates the whole structure before any record is read: end of central directory
// (searched in the last 64 KiB + 22 bytes, exact to the end of the file), ZIP64 locator, end
// record and extra fields, every central-directory entry (stored, not encrypted, sizes agree,
// names unique and under one archive folder), every local header (signature, method, name and,
// where present, CRC and sizes agree with the directory), and every record's bytes lying inside
// the file, before the directory, without overlapping another. Sizes are trusted only once they
// are known to fit in the file, so a lying header cannot make it allocate more than the file holds.
// Every failure throws tempo::CheckpointError "checkpoint '<path>' ..." saying what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tempo {

struct ZipEntry {
  std::string name;       // inside the archive folder, e.g. "data/3"
  std::string full_name;  // as stored, e.g. "archive/data/3"
  uint64_t central_offset = 0;
  uint64_t header_offset = 0;
  uint64_t data_offset = 0;
  uint64_t size = 0;
  uint32_t crc32 = 0;  // from the central directory
};

class ZipReader {
 public:
  explicit ZipReader(std::string path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  uint64_t file_size() const { return size_; }
  const std::string& path() const { return path_; }

  // Reads the entry's `size` bytes into `dst` and returns their CRC-32 (computed chunk by chunk
  // while the bytes are hot). The caller compares it with what it expects.
  uint32_t read(const ZipEntry& entry, void* dst) const;

  // Reads `size` bytes at `offset`; throws "is truncated" if the file ends first.
  void read_at(void* dst, size_t size, uint64_t offset) const;

  // The whole file mapped copy-on-write (MAP_PRIVATE: writing to memory in it never reaches the
  // file), unmapped when the last copy of the pointer goes; null when the file cannot
  // be mapped (then read() it). Readers keep the mapping alive as long as tensors point into it.
  // A file truncated in place while mapped would fault on access (SIGBUS); tempo never does
  // that: checkpoints are replaced by rename, and an unlinked file stays readable while mapped.
  std::shared_ptr<const char> map() const;

  [[noreturn]] void fail(const std::string& what) const;

 private:
  void open_and_validate();
  std::string describe_start() const;

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace tempo
