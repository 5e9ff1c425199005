#include "tempo/serialization/integrity.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "tempo/errors/error.h"

namespace tempo {

std::string format_integrity(const std::vector<IntegrityEntry>& entries) {
  std::string out = std::string(kIntegrityFormat) + "\nrecords " + std::to_string(entries.size()) + "\n";
  for (const auto& e : entries) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", static_cast<unsigned>(e.crc32));
    out += e.name + " " + std::to_string(e.size) + " crc32:" + crc + "\n";
  }
  out += "end\n";
  return out;
}

namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, uint64_t(c - '0'), &v))
      return false;
  }
  out = v;
  return true;
}

bool parse_hex32(std::string_view s, uint32_t& out) {
  if (s.size() != 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

std::vector<IntegrityEntry> parse_integrity(std::string_view text, const std::string& path) {
  const auto fail = [&](const std::string& what) -> void {
    throw CheckpointError("checkpoint '" + path + "' has a damaged integrity record (" + what + ")");
  };
  size_t pos = 0;
  const auto next_line = [&](std::string_view& line) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    line = text.substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view line;
  if (!next_line(line)) fail("no header line");
  if (line != kIntegrityFormat) {
    if (line.rfind("tempo-checkpoint ", 0) == 0)
      throw CheckpointError("checkpoint '" + path + "' has unsupported format version '" + printable(line) +
                            "' (this tempo reads '" + kIntegrityFormat + "')");
    fail("header '" + printable(line) + "'");
  }
  uint64_t count = 0;
  if (!next_line(line) || line.rfind("records ", 0) != 0 || !parse_u64(line.substr(8), count))
    fail("no record count");
  // Each line takes at least 17 bytes, so the count is bounded by the text itself.
  if (count > text.size() / 17) fail("record count " + std::to_string(count) + " larger than the record");
  std::vector<IntegrityEntry> entries;
  entries.reserve(count);
  std::unordered_set<std::string> seen;
  for (uint64_t i = 0; i < count; ++i) {
    if (!next_line(line)) fail("it ends after " + std::to_string(i) + " of " + std::to_string(count) + " records");
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) fail("line '" + printable(line) + "'");
    IntegrityEntry e;
    e.name = std::string(line.substr(0, a));
    const std::string_view crc = line.substr(b + 1);
    if (e.name.empty() || !parse_u64(line.substr(a + 1, b - a - 1), e.size) || crc.rfind("crc32:", 0) != 0 ||
        !parse_hex32(crc.substr(6), e.crc32))
      fail("line '" + printable(line) + "'");
    if (!seen.insert(e.name).second) fail("record '" + printable(e.name) + "' listed twice");
    entries.push_back(std::move(e));
  }
  if (!next_line(line) || line != "end" || pos != text.size()) fail("no end line");
  return entries;
}

}  // namespace tempo
