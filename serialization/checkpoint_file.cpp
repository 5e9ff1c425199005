#include "tempo/serialization/checkpoint_file.h"

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <future>
#include <system_error>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/integrity.h"
#include "tempo/serialization/pickle_reader.h"
#include "tempo/serialization/pickle_writer.h"
#include "tempo/serialization/zip_reader.h"
#include "tempo/serialization/zip_writer.h"
#include "tempo/util/checksum.h"

namespace tempo {
namespace {

// Storage keys are ours or torch.save's ("0", "1", ...); anything else cannot name a record.
bool plain_key(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Records at least this large are used in place from the mapped file: below a page, reading is
// as cheap and keeps a small tensor from pinning the whole mapping.
constexpr uint64_t kMinMappedRecord = 4096;
// Progress is reported after each slice of this many bytes written or checked.
constexpr size_t kProgressSlice = size_t{16} << 20;
// Records at least this large are checksummed on a thread of their own while they are written.
constexpr size_t kParallelCrcBytes = size_t{1} << 20;
// The alignment of record data in files from torch.save and tempo (caffe2's kFieldAlignment).
constexpr uint64_t kMappedAlignment = 64;

}  // namespace

void write_checkpoint(const c10::IValue& tree, const std::string& path, const CheckpointProgressFn& progress,
                      Env& env) {
  std::vector<at::Tensor> storages;
  std::string pickle;
  try {
    pickle = pickle_tree(tree, storages);
  } catch (const CheckpointError& e) {
    // "cannot write checkpoint: value at ..." gains the file name.
    const std::string message = e.what();
    const std::string prefix = "cannot write checkpoint: ";
    throw CheckpointError("cannot write checkpoint '" + path +
                          "': " + (message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message));
  }
  AtomicFile file(path, env);
  uint64_t total = pickle.size();
  for (const auto& storage : storages) total += storage.nbytes();
  uint64_t written = 0;
  if (progress) progress(0, total);
  ZipWriter zip([&](const void* data, size_t size) { file.write(data, size); });
  // Record data goes out in slices, so that a progress bar moves during one large tensor; zip
  // headers are not counted.
  const auto write_data = [&](const void* data, size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    for (size_t at = 0; at < size; at += kProgressSlice) {
      const size_t n = std::min(kProgressSlice, size - at);
      zip.write_data(bytes + at, n);
      written += n;
      if (progress) progress(std::min(written, total - (total > 0)), total);
    }
  };
  // Each record's CRC-32 (for the zip and for tempo's integrity record, see integrity.h) is
  // computed from the bytes as they are handed over, on a second thread for large records while
  // this one writes them: one pass over the data besides the write, and overlapped with it.
  std::vector<IntegrityEntry> integrity;
  const auto write_record = [&](const std::string& name, const void* data, size_t size) {
    zip.begin_record(name, size);
    std::future<uint32_t> crc;
    if (size >= kParallelCrcBytes) {
      try {
        crc = std::async(std::launch::async, [data, size] { return crc32(data, size); });
      } catch (const std::system_error&) {  // no thread to be had: checksummed below, in turn
      }
    }
    write_data(data, size);  // should it throw, the future's destructor waits for the checksum
    const uint32_t sum = crc.valid() ? crc.get() : crc32(data, size);
    zip.end_record(sum);
    integrity.push_back({name, size, sum});
  };
  try {
    write_record("data.pkl", pickle.data(), pickle.size());
    for (size_t key = 0; key < storages.size(); ++key) {
      // CPU storages are written from their own memory; others are copied over one at a time.
      const at::Tensor bytes = storages[key].is_cpu() ? storages[key] : storages[key].cpu();
      write_record("data/" + std::to_string(key), bytes.data_ptr(), bytes.nbytes());
    }
    // Last of tempo's records: its presence marks a save that ran to the end.
    const std::string manifest = format_integrity(integrity);
    zip.write_record(kIntegrityRecordName, manifest.data(), manifest.size());
    zip.finish();  // the "version" record as torch.save writes it, then the directory
  } catch (const c10::Error& e) {
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  file.commit();
  if (progress) progress(total, total);
}

c10::IValue read_checkpoint(const std::string& path, const CheckpointProgressFn& progress) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw CheckpointError("checkpoint '" + path + "' does not exist");
    throw CheckpointError("cannot read checkpoint '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    throw CheckpointError("checkpoint '" + path + "' is a folder, not a checkpoint file");

  // tempo's own bounded zip reader: the whole structure is validated before any record is read,
  // and LibTorch's reader (which crashes on malformed zips) is never used.
  const ZipReader zip(path);
  const auto fail = [&](const std::string& what) { zip.fail(what); };
  const ZipEntry* pickle_entry = zip.find("data.pkl");
  if (!pickle_entry) fail("is not a PyTorch checkpoint: it has no data.pkl record");

  // Every record is checked against the CRC-32 of its directory entry. In a tempo file the
  // integrity record must agree with the directory on each record's presence, size and CRC, so
  // damage to either shows; files without one (Python's torch.save) have only the zip's CRCs.
  if (const ZipEntry* manifest_entry = zip.find(kIntegrityRecordName)) {
    if (manifest_entry->size > kMaxIntegrityRecordSize)
      fail("has a damaged integrity record (" + std::to_string(manifest_entry->size) + " bytes)");
    std::string text(manifest_entry->size, '\0');
    if (zip.read(*manifest_entry, text.data()) != manifest_entry->crc32)
      fail("record '" + manifest_entry->full_name + "' fails its checksum (file damaged)");
    std::unordered_set<std::string> listed;
    for (const auto& record : parse_integrity(text, path)) {
      const ZipEntry* entry = zip.find(record.name);
      if (!entry) fail("is damaged: record '" + record.name + "' listed in its integrity record is missing");
      if (entry->size != record.size)
        fail("is damaged: record '" + entry->full_name + "' has " + std::to_string(entry->size) +
             " bytes, its integrity record says " + std::to_string(record.size));
      if (entry->crc32 != record.crc32)
        fail("record '" + entry->full_name + "' fails its checksum (file damaged: directory and integrity record disagree)");
      listed.insert(record.name);
    }
    for (const auto& entry : zip.entries())
      if ((entry.name == "data.pkl" || entry.name.rfind("data/", 0) == 0) && !listed.count(entry.name))
        fail("is damaged: record '" + entry.full_name + "' is not covered by its integrity record");
  }

  std::string pickle(pickle_entry->size, '\0');
  if (zip.read(*pickle_entry, pickle.data()) != pickle_entry->crc32)
    fail("record '" + pickle_entry->full_name + "' fails its checksum (file damaged)");

  // Storage records are read (each straight into the memory its tensor will own) and verified
  // before unpickling. Each is at most the file's size, and together no more than the file.
  struct Loaded {
    c10::DataPtr data;
    uint64_t size = 0;
    c10::optional<c10::Storage> storage;
  };
  // Storages point into the memory-mapped file where its records are aligned as torch.save and
  // tempo align them (64 bytes): the checksum pass pulls the pages in, and the only copy is the
  // one into the model's or optimizer's own tensors when the tree is loaded. Otherwise (a file
  // that cannot be mapped, an unaligned record) each record is read into memory of its own.
  std::unordered_map<std::string, Loaded> records;
  std::shared_ptr<const char> mapping;
  const uint64_t total = zip.file_size();
  uint64_t done = pickle_entry->size;
  if (progress) progress(0, total);
  for (const auto& entry : zip.entries()) {
    if (entry.name.rfind("data/", 0) != 0) continue;
    Loaded loaded;
    loaded.size = entry.size;
    if (!mapping && entry.size >= kMinMappedRecord) mapping = zip.map();
    if (mapping && entry.size >= kMinMappedRecord && entry.data_offset % kMappedAlignment == 0) {
      const char* bytes = mapping.get() + entry.data_offset;
      uint32_t crc = 0;
      for (uint64_t at = 0; at < entry.size; at += kProgressSlice) {
        const auto n = static_cast<size_t>(std::min<uint64_t>(kProgressSlice, entry.size - at));
        crc = crc32(bytes + at, n, crc);  // the first touch of these pages: this is the read
        if (progress) progress(std::min(done + at + n, total), total);
      }
      if (crc != entry.crc32) fail("record '" + entry.full_name + "' fails its checksum (file damaged)");
      // Each storage holds the mapping; the file is unmapped when the last of them is freed.
      auto* owner = new std::shared_ptr<const char>(mapping);
      loaded.data = c10::DataPtr(const_cast<char*>(bytes), owner,
                                 [](void* p) { delete static_cast<std::shared_ptr<const char>*>(p); }, c10::Device(c10::kCPU));
    } else {
      loaded.data = c10::GetCPUAllocator()->allocate(entry.size);
      if (zip.read(entry, loaded.data.get()) != entry.crc32)
        fail("record '" + entry.full_name + "' fails its checksum (file damaged)");
    }
    done += entry.size;
    if (progress) progress(std::min(done, total), total);
    records.emplace(entry.name.substr(5), std::move(loaded));
  }

  // The small records tempo does not use ("version", torch's "byteorder") are checked too.
  for (const auto& entry : zip.entries()) {
    if (entry.name == "data.pkl" || entry.name == kIntegrityRecordName || entry.name.rfind("data/", 0) == 0 ||
        entry.size > 4096)
      continue;
    std::string bytes(entry.size, '\0');
    if (zip.read(entry, bytes.data()) != entry.crc32)
      fail("record '" + entry.full_name + "' fails its checksum (file damaged)");
  }

  const StorageLoader load = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    const std::string name = "data/" + key;
    const auto it = plain_key(key) ? records.find(key) : records.end();
    if (it == records.end())
      fail("is damaged: storage record '" + name + "' is missing");
    Loaded& record = it->second;
    uint64_t expected = 0;
    if (numel < 0 || __builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &expected) ||
        expected > zip.file_size())
      fail("is damaged: storage '" + name + "' declares " + std::to_string(numel) +
           " elements, more than the file holds");
    if (record.size != expected)
      fail("is damaged: record '" + name + "' has " + std::to_string(record.size) + " bytes, expected " +
           std::to_string(expected));
    if (!record.storage) {
      if (dtype == c10::ScalarType::Bool) {
        // Any byte but 0 and 1 in a bool tensor is undefined behaviour in the kernels.
        const auto* p = static_cast<const unsigned char*>(record.data.get());
        for (size_t i = 0; i < record.size; ++i)
          if (p[i] > 1)
            fail("is damaged: bool storage '" + name + "' holds byte " + std::to_string(p[i]));
      }
      // The record's buffer becomes the tensor's storage: read once, never copied.
      record.storage = c10::Storage(c10::Storage::use_byte_size_t(), record.size, std::move(record.data), nullptr, false);
    }
    return at::empty({0}, at::TensorOptions().dtype(dtype)).set_(*record.storage, 0, {numel}, {1});
  };
  try {
    auto tree = unpickle_tree(pickle, load, path);
    if (progress) progress(total, total);
    return tree;
  } catch (const c10::Error& e) {
    throw CheckpointError("checkpoint '" + path + "' is damaged: " + e.what_without_backtrace());
  }
}

}  // namespace tempo
