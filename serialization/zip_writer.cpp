#include "tempo/serialization/zip_writer.h"

#include <utility>

#include "tempo/errors/error.h"
#include "tempo/util/checksum.h"
#include "tempo/util/coding.h"

namespace tempo {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kDescriptorSig = 0x08074b50,
                   kEndSig = 0x06054b50, kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kLocalSize = 30;
constexpr uint64_t kAlignment = 64;        // caffe2's kFieldAlignment
constexpr uint16_t kPaddingId = 0x4246;    // "FB", the extra field id torch.save pads with
constexpr uint16_t kFlags = 0x0808;        // data descriptor follows; names are UTF-8
constexpr uint16_t kVersion = 20, kVersion64 = 45;
constexpr uint32_t kMax32 = 0xffffffff;
constexpr uint64_t kMax16 = 0xffff;
// torch 1.13's kProducedFileFormatVersion, as its writer stores it.
constexpr char kFileFormatVersion[] = "3\n";
constexpr char kArchive[] = "archive/";

class Bytes {
 public:
  Bytes& u16(uint64_t v) { return le(v, 2); }
  Bytes& u32(uint64_t v) { return le(v, 4); }
  Bytes& u64(uint64_t v) { return le(v, 8); }
  Bytes& text(const std::string& s) {
    out_ += s;
    return *this;
  }
  Bytes& fill(size_t n, char c) {
    out_.append(n, c);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  Bytes& le(uint64_t v, int n) {
    put_le(out_, v, n);
    return *this;
  }
  std::string out_;
};

}  // namespace

ZipWriter::ZipWriter(Sink sink, bool always_zip64) : sink_(std::move(sink)), always_zip64_(always_zip64) {}

bool ZipWriter::large(uint64_t value) const { return always_zip64_ || value >= kMax32; }

void ZipWriter::put(const void* data, size_t size) {
  if (size == 0) return;
  sink_(data, size);
  offset_ += size;
}

void ZipWriter::begin_record(const std::string& name, uint64_t size) {
  if (in_record_ || finished_) throw Error("zip writer: begin_record while a record is open or after finish");
  if (name.empty() || name.size() > 1024) throw Error("zip writer: a record name must have 1 to 1024 characters");
  Entry e{kArchive + name, offset_, size, 0};
  // Local header without CRC and sizes (the data descriptor carries them; a ZIP64 extra field,
  // zero until then, says that descriptor's sizes have 8 bytes), then a padding extra field that
  // puts the data on a 64-byte boundary.
  const bool zip64 = large(size);
  const uint64_t zip64_extra = zip64 ? 4 + 16 : 0;
  const uint64_t after_name = offset_ + kLocalSize + e.name.size() + zip64_extra;
  const uint64_t padding = (kAlignment - (after_name + 4) % kAlignment) % kAlignment;
  Bytes h;
  h.u32(kLocalSig).u16(zip64 ? kVersion64 : kVersion).u16(kFlags).u16(0).u16(0).u16(0);
  h.u32(0).u32(0).u32(0).u16(e.name.size()).u16(zip64_extra + 4 + padding).text(e.name);
  if (zip64) h.u16(1).u16(16).u64(0).u64(0);
  h.u16(kPaddingId).u16(padding).fill(padding, 'Z');
  put(h.str().data(), h.str().size());
  entries_.push_back(std::move(e));
  in_record_ = true;
  data_left_ = size;
}

void ZipWriter::write_data(const void* data, size_t size) {
  if (!in_record_ || size > data_left_) throw Error("zip writer: more data than the record's size");
  put(data, size);
  data_left_ -= size;
}

void ZipWriter::end_record(uint32_t crc32) {
  if (!in_record_ || data_left_ != 0) throw Error("zip writer: end_record before all of the record's data");
  auto& e = entries_.back();
  e.crc32 = crc32;
  Bytes d;
  d.u32(kDescriptorSig).u32(crc32);
  if (large(e.size)) {
    d.u64(e.size).u64(e.size);  // ZIP64 descriptor: 8-byte sizes
  } else {
    d.u32(e.size).u32(e.size);
  }
  put(d.str().data(), d.str().size());
  in_record_ = false;
}

void ZipWriter::write_record(const std::string& name, const void* data, size_t size) {
  begin_record(name, size);
  write_data(data, size);
  end_record(crc32(data, size));
}

void ZipWriter::finish() {
  if (finished_) return;
  write_record("version", kFileFormatVersion, sizeof kFileFormatVersion - 1);
  const uint64_t dir_offset = offset_;
  for (const auto& e : entries_) {
    // ZIP64 extra: the 64-bit value of each 32-bit field written at its maximum, in this order.
    Bytes x;
    const bool big_size = large(e.size), big_offset = large(e.header_offset);
    if (big_size) x.u64(e.size).u64(e.size);
    if (big_offset) x.u64(e.header_offset);
    Bytes c;
    const uint16_t version = big_size || big_offset ? kVersion64 : kVersion;
    c.u32(kCentralSig).u16(version).u16(version).u16(kFlags).u16(0).u16(0).u16(0).u32(e.crc32);
    c.u32(big_size ? kMax32 : e.size).u32(big_size ? kMax32 : e.size);
    c.u16(e.name.size()).u16(x.str().empty() ? 0 : 4 + x.str().size()).u16(0).u16(0).u16(0).u32(0);
    c.u32(big_offset ? kMax32 : e.header_offset).text(e.name);
    if (!x.str().empty()) c.u16(1).u16(x.str().size()).text(x.str());
    put(c.str().data(), c.str().size());
  }
  const uint64_t dir_size = offset_ - dir_offset;
  const uint64_t count = entries_.size();
  const bool zip64 = always_zip64_ || count >= kMax16 || dir_size >= kMax32 || dir_offset >= kMax32;
  Bytes end;
  if (zip64) {
    const uint64_t record_offset = offset_;
    end.u32(kZip64EndSig).u64(44).u16(kVersion64).u16(kVersion64).u32(0).u32(0);
    end.u64(count).u64(count).u64(dir_size).u64(dir_offset);
    end.u32(kZip64LocatorSig).u32(0).u64(record_offset).u32(1);
  }
  end.u32(kEndSig).u16(0).u16(0);
  end.u16(zip64 ? kMax16 : count).u16(zip64 ? kMax16 : count);
  end.u32(zip64 ? kMax32 : dir_size).u32(zip64 ? kMax32 : dir_offset).u16(0);
  put(end.str().data(), end.str().size());
  finished_ = true;
}

}  // namespace tempo
