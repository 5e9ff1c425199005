// Integrity data of tempo checkpoints. write_checkpoint adds one extra zip record,
// ".data/tempo_integrity" (inside the archive folder, like torch's own ".data/version"; torch.load
// ignores records it does not ask for), written after every data record. It is plain text:
//
//   tempo-checkpoint 1
//   records 3
//   data.pkl 812 crc32:0a1b2c3d
//   data/0 24 crc32:9f00aa01
//   data/1 8 crc32:00000000
//   end
//
// one line per record (name inside the archive, size in bytes, zlib CRC-32 of its bytes). CRC-32
// is also what the zip's central directory holds for each entry, so one pass over a record's bytes
// checks both; the manifest adds the list of records and their sizes (a record dropped or cut
// shows) and the format version. Being the last record tempo writes, its presence marks a save
// that ran to its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tempo {

inline constexpr const char* kIntegrityRecordName = ".data/tempo_integrity";
inline constexpr const char* kIntegrityFormat = "tempo-checkpoint 1";
// A manifest larger than this is refused before it is read.
inline constexpr uint64_t kMaxIntegrityRecordSize = uint64_t{16} << 20;

struct IntegrityEntry {
  std::string name;  // record name inside the archive, e.g. "data/3"
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

std::string format_integrity(const std::vector<IntegrityEntry>& entries);

// Parses a manifest; throws tempo::CheckpointError "checkpoint '<path>' ..." on anything but the
// exact format above (unknown version: "has unsupported format version '...'").
std::vector<IntegrityEntry> parse_integrity(std::string_view text, const std::string& path);

}  // namespace tempo
