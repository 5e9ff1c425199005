#include "tempo/serialization/zip_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tempo/errors/error.h"
#include "tempo/util/checksum.h"
#include "tempo/util/coding.h"

namespace tempo {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kMaxDirectorySize = uint64_t{64} << 20;
constexpr uint64_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30, kZip64EndSize = 56, kLocatorSize = 20;

uint16_t u16(const unsigned char* p) { return decode_fixed16(p); }
uint32_t u32(const unsigned char* p) { return decode_fixed32(p); }
uint64_t u64(const unsigned char* p) { return decode_fixed64(p); }

std::string quote_name(const std::string& name) {
  std::string out = "'";
  for (char c : name.substr(0, 100)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + "'";
}

}  // namespace

ZipReader::ZipReader(std::string path) : path_(std::move(path)) {
  try {
    open_and_validate();
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw;
  }
}

ZipReader::~ZipReader() {
  if (fd_ >= 0) ::close(fd_);
}

void ZipReader::fail(const std::string& what) const { throw CheckpointError("checkpoint '" + path_ + "' " + what); }

const ZipEntry* ZipReader::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void ZipReader::read_at(void* dst, size_t size, uint64_t offset) const {
  auto* p = static_cast<char*>(dst);
  uint64_t at = offset;
  while (size > 0) {
    const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
    const ssize_t n = ::pread(fd_, p, chunk, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw CheckpointError("cannot read checkpoint '" + path_ + "': " + std::strerror(errno));
    }
    if (n == 0)
      fail("is truncated (expected " + std::to_string(at + size) + " bytes, found " + std::to_string(at) + ")");
    p += n;
    at += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
}

std::shared_ptr<const char> ZipReader::map() const {
  if (size_ == 0) return nullptr;
  // Writable but private: a tensor written in place gets its own copy of the page (copy-on-write).
  void* base = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, 0);
  if (base == MAP_FAILED) return nullptr;
  // The records are read front to back, once, by the checksum pass: ask for read-ahead.
  ::madvise(base, size_, MADV_SEQUENTIAL);
  ::madvise(base, size_, MADV_WILLNEED);
  const size_t size = size_;
  return std::shared_ptr<const char>(static_cast<const char*>(base),
                                     [size](const char* p) { ::munmap(const_cast<char*>(p), size); });
}

uint32_t ZipReader::read(const ZipEntry& entry, void* dst) const {
  uint32_t crc = 0;
  auto* p = static_cast<char*>(dst);
  const uint64_t chunk = uint64_t{16} << 20;
  for (uint64_t done = 0; done < entry.size; done += chunk) {
    const auto n = static_cast<size_t>(std::min(chunk, entry.size - done));
    read_at(p + done, n, entry.data_offset + done);
    crc = crc32(p + done, n, crc);
  }
  return crc;
}

std::string ZipReader::describe_start() const {
  unsigned char head[16] = {};
  const ssize_t n = ::pread(fd_, head, sizeof head, 0);
  const size_t len = n > 0 ? static_cast<size_t>(n) : 0;
  if (len >= 8 && std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) return "starts with a PNG signature";
  if (len >= 3 && std::memcmp(head, "\xff\xd8\xff", 3) == 0) return "starts with a JPEG signature";
  if (len >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0) return "starts with an ELF signature";
  if (len >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return "starts with a NumPy signature";
  if (len >= 2 && std::memcmp(head, "\x80\x02", 2) == 0) return "starts like a legacy (pre-1.6) torch pickle";
  if (std::all_of(head, head + len, [](unsigned char c) { return c == 0; })) return "starts with zero bytes";
  if (std::all_of(head, head + len, [](unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r'; })) {
    std::string text(reinterpret_cast<const char*>(head), len);
    for (char& c : text)
      if (c < 0x20) c = ' ';
    return "starts with text '" + text + "'";
  }
  std::string hex = "starts with bytes";
  for (size_t i = 0; i < std::min<size_t>(len, 8); ++i) {
    char b[4];
    std::snprintf(b, sizeof b, " %02x", head[i]);
    hex += b;
  }
  return hex;
}

void ZipReader::open_and_validate() {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    if (errno == ENOENT) fail("does not exist");
    throw CheckpointError("cannot read checkpoint '" + path_ + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    throw CheckpointError("cannot read checkpoint '" + path_ + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("is a folder, not a checkpoint file");
  if (!S_ISREG(st.st_mode)) fail("is not a regular file");
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ == 0) fail("is empty");

  unsigned char magic[4] = {};
  if (size_ >= 4) read_at(magic, 4, 0);
  const bool starts_as_zip = size_ >= 4 && u32(magic) == kLocalSig;

  // End of central directory: the last signature whose comment reaches exactly to the end.
  const uint64_t tail_size = std::min<uint64_t>(size_, 0xffff + kEndSize);
  std::vector<unsigned char> tail(tail_size);
  read_at(tail.data(), tail_size, size_ - tail_size);
  uint64_t end_pos = UINT64_MAX;
  if (tail_size >= kEndSize)
    for (uint64_t i = tail_size - kEndSize + 1; i-- > 0;)
      if (u32(&tail[i]) == kEndSig && u16(&tail[i + 20]) == tail_size - i - kEndSize) {
        end_pos = size_ - tail_size + i;
        break;
      }
  if (end_pos == UINT64_MAX) {
    if (starts_as_zip)
      fail("is truncated or incomplete: it starts as a zip file but its zip directory is missing (was the save "
           "interrupted?)");
    fail("is not a PyTorch checkpoint (no zip directory; " + describe_start() + ")");
  }
  const unsigned char* end = &tail[end_pos - (size_ - tail_size)];
  uint64_t disk = u16(end + 4), dir_disk = u16(end + 6), count_disk = u16(end + 8), count = u16(end + 10);
  uint64_t dir_size = u32(end + 12), dir_offset = u32(end + 16);
  uint64_t dir_end = end_pos;

  // ZIP64: a locator right before the end record points at the ZIP64 end record.
  if (end_pos >= kLocatorSize) {
    unsigned char loc[kLocatorSize];
    read_at(loc, kLocatorSize, end_pos - kLocatorSize);
    if (u32(loc) == kZip64LocatorSig) {
      const uint64_t z_offset = u64(loc + 8);
      if (u32(loc + 4) != 0 || z_offset > end_pos - kLocatorSize ||
          end_pos - kLocatorSize - z_offset < kZip64EndSize)
        fail("is damaged: its ZIP64 locator points outside the file");
      unsigned char z[kZip64EndSize];
      read_at(z, kZip64EndSize, z_offset);
      if (u32(z) != kZip64EndSig || z_offset + 12 + u64(z + 4) != end_pos - kLocatorSize)
        fail("is damaged: its ZIP64 end record is malformed");
      // The 32-bit end record must agree with the ZIP64 one wherever it is not at its maximum.
      const auto agrees = [](uint64_t small, uint64_t max, uint64_t big) { return small == max || small == big; };
      if (!agrees(disk, 0xffff, u32(z + 16)) || !agrees(dir_disk, 0xffff, u32(z + 20)) ||
          !agrees(count_disk, 0xffff, u64(z + 24)) || !agrees(count, 0xffff, u64(z + 32)) ||
          !agrees(dir_size, 0xffffffff, u64(z + 40)) || !agrees(dir_offset, 0xffffffff, u64(z + 48)))
        fail("is damaged: its zip end record and ZIP64 end record disagree");
      disk = u32(z + 16);
      dir_disk = u32(z + 20);
      count_disk = u64(z + 24);
      count = u64(z + 32);
      dir_size = u64(z + 40);
      dir_offset = u64(z + 48);
      dir_end = z_offset;
    } else if (count == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff) {
      fail("is damaged: its zip end record needs a ZIP64 record, which is missing");
    }
  }
  if (disk != 0 || dir_disk != 0 || count_disk != count) fail("is damaged: its zip directory claims several disks");
  if (dir_offset > dir_end || dir_size > dir_end - dir_offset) {
    uint64_t want = 0;
    if (!__builtin_add_overflow(dir_offset, dir_size, &want) && want > size_)
      fail("is truncated (expected " + std::to_string(want) + " bytes from its directory, found " +
           std::to_string(size_) + ")");
    fail("is damaged: its zip directory (" + std::to_string(dir_size) + " bytes at offset " +
         std::to_string(dir_offset) + ") does not fit before its end record");
  }
  if (dir_size > kMaxDirectorySize) fail("has a zip directory of " + std::to_string(dir_size) + " bytes, more than tempo accepts");
  if (count > dir_size / kCentralSize)
    fail("is damaged: its zip directory claims " + std::to_string(count) + " records in " + std::to_string(dir_size) +
         " bytes");

  std::vector<unsigned char> dir(dir_size);
  read_at(dir.data(), dir_size, dir_offset);
  entries_.reserve(count);
  std::string prefix;
  uint64_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string where = "zip directory entry " + std::to_string(i);
    if (dir_size - p < kCentralSize || u32(&dir[p]) != kCentralSig) fail("is damaged: " + where + " has a bad signature");
    const unsigned char* c = &dir[p];
    const uint16_t flags = u16(c + 8), method = u16(c + 10);
    const uint64_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    if (dir_size - p - kCentralSize < name_len + extra_len + comment_len) fail("is damaged: " + where + " overruns the directory");
    ZipEntry e;
    e.central_offset = dir_offset + p;
    e.full_name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    e.crc32 = u32(c + 16);
    uint64_t csize = u32(c + 20), usize = u32(c + 24), disk_start = u16(c + 34);
    e.header_offset = u32(c + 42);
    // ZIP64 extended information: the 64-bit values, in this order, for each 32-bit field at its maximum.
    bool need_u = usize == 0xffffffff, need_c = csize == 0xffffffff, need_o = e.header_offset == 0xffffffff;
    const unsigned char* x = c + kCentralSize + name_len;
    for (uint64_t q = 0; q + 4 <= extra_len;) {
      const uint16_t id = u16(x + q), len = u16(x + q + 2);
      if (q + 4 + len > extra_len) fail("is damaged: " + where + " has a bad extra field");
      if (id == 1) {
        const unsigned char* f = x + q + 4;
        uint64_t left = len;
        const auto take = [&](uint64_t& v) {
          if (left < 8) fail("is damaged: " + where + " has a short ZIP64 field");
          v = u64(f);
          f += 8;
          left -= 8;
        };
        if (need_u) take(usize), need_u = false;
        if (need_c) take(csize), need_c = false;
        if (need_o) take(e.header_offset), need_o = false;
      }
      q += 4 + len;
    }
    if (need_u || need_c || need_o) fail("is damaged: " + where + " lacks its ZIP64 sizes");
    if (name_len == 0 || e.full_name.find('\0') != std::string::npos) fail("is damaged: " + where + " has a bad name");
    const std::string rec = "record " + quote_name(e.full_name);
    if (flags & 1) fail("has an encrypted " + rec);
    if (method != 0)
      fail("has a compressed " + rec + " (method " + std::to_string(method) + "); checkpoints store records uncompressed");
    if (csize != usize) fail("is damaged: " + rec + " has two different sizes in its directory");
    if (disk_start != 0) fail("is damaged: " + rec + " claims another disk");
    e.size = usize;
    const size_t slash = e.full_name.find('/');
    if (i == 0) {
      if (slash == std::string::npos || slash == 0) fail("is damaged: " + rec + " is not inside an archive folder");
      prefix = e.full_name.substr(0, slash + 1);
    }
    if (e.full_name.compare(0, prefix.size(), prefix) != 0 || e.full_name.size() == prefix.size())
      fail("is damaged: " + rec + " is not inside archive folder " + quote_name(prefix));
    e.name = e.full_name.substr(prefix.size());
    if (!index_.emplace(e.name, entries_.size()).second) fail("is damaged: " + rec + " appears twice");
    entries_.push_back(std::move(e));
    p += kCentralSize + name_len + extra_len + comment_len;
  }

  // Local headers and data: inside the file, before the directory, matching the directory.
  std::vector<uint64_t> ends(entries_.size());
  for (auto& e : entries_) {
    const std::string rec = "record " + quote_name(e.full_name);
    const auto need = [&](uint64_t offset, uint64_t len, const char* what) {
      uint64_t want = 0;
      if (__builtin_add_overflow(offset, len, &want) || want > size_)
        fail("is truncated (expected " + (want > size_ && want >= offset ? std::to_string(want) : std::string("more")) +
             " bytes from its directory, found " + std::to_string(size_) + ")");
      if (want > dir_offset) fail("is damaged: the " + std::string(what) + " of " + rec + " overlaps the zip directory");
    };
    need(e.header_offset, kLocalSize, "header");
    unsigned char h[kLocalSize];
    read_at(h, kLocalSize, e.header_offset);
    if (u32(h) != kLocalSig) fail("is damaged: the header of " + rec + " has a bad signature");
    const uint16_t flags = u16(h + 6), method = u16(h + 8);
    const uint64_t name_len = u16(h + 26), extra_len = u16(h + 28);
    need(e.header_offset + kLocalSize, name_len + extra_len, "header");
    std::string name(name_len, '\0');
    read_at(name.data(), name_len, e.header_offset + kLocalSize);
    if (method != 0 || name != e.full_name) fail("is damaged: the header of " + rec + " does not match its directory entry");
    // CRC and sizes in the local header: the directory's, or zero when a data descriptor follows
    // the data (flag bit 3, as miniz writes for torch), which must then agree with the directory.
    const uint32_t crc = u32(h + 14), csize = u32(h + 18), usize = u32(h + 22);
    const bool descriptor = flags & 8;
    const auto size_ok = [&](uint32_t v) { return v == 0xffffffff || v == e.size; };
    const bool all_zero = descriptor && crc == 0 && csize == 0 && usize == 0;
    if (!all_zero && (crc != e.crc32 || !size_ok(csize) || !size_ok(usize)))
      fail("is damaged: the header of " + rec + " does not match its directory entry");
    e.data_offset = e.header_offset + kLocalSize + name_len + extra_len;
    need(e.data_offset, e.size, "data");
    ends[&e - entries_.data()] = e.data_offset + e.size;
    if (descriptor) {
      const uint64_t at = e.data_offset + e.size;
      unsigned char d[24] = {};
      const uint64_t avail = std::min<uint64_t>(24, dir_offset - at);
      read_at(d, avail, at);
      const uint64_t skip = avail >= 4 && u32(d) == 0x08074b50 ? 4 : 0;
      uint64_t len = 0;
      if (avail >= skip + 12 && u32(d + skip) == e.crc32 && u32(d + skip + 4) == e.size && u32(d + skip + 8) == e.size)
        len = skip + 12;
      else if (avail >= skip + 20 && u32(d + skip) == e.crc32 && u64(d + skip + 4) == e.size &&
               u64(d + skip + 12) == e.size)
        len = skip + 20;
      else
        fail("is damaged: the data descriptor of " + rec + " does not match its directory entry");
      ends[&e - entries_.data()] += len;
    }
  }
  std::vector<size_t> order(entries_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries_[a].header_offset < entries_[b].header_offset; });
  for (size_t k = 1; k < order.size(); ++k)
    if (ends[order[k - 1]] > entries_[order[k]].header_offset)
      fail("is damaged: records " + quote_name(entries_[order[k - 1]].full_name) + " and " +
           quote_name(entries_[order[k]].full_name) +
           " overlap");
}

}  // namespace tempo
