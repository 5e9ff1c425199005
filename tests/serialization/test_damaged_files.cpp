// Damaged, truncated and foreign files: every one must end in a CheckpointError naming the file
// and saying what is wrong, never a crash, a hang or a huge allocation.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/integrity.h"
#include "tempo/serialization/zip_reader.h"
#include "serialization_support.h"
#include "support/python.h"
#include "tempo/util/checksum.h"
#include "tempo/util/coding.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void put_u32(std::string& bytes, uint64_t at, uint32_t v) {
  encode_le(&bytes[at], v, 4);
}

// A tempo checkpoint with a few tensors, and its bytes.
struct Sample {
  ScratchFolder folder;
  std::string path = folder.file("good.pt");
  std::string bytes;
  Sample() {
    auto model = str_dict();
    model.insert("w", at::arange(300, at::kFloat).reshape({30, 10}) / 7);
    model.insert("b", at::arange(10, at::kLong));
    model.insert("mask", at::arange(8, at::kLong).remainder(2).to(at::kBool));
    model.insert("step", at::scalar_tensor(3.0, at::kDouble));
    auto root = str_dict();
    root.insert("model", model);
    root.insert("name", std::string("run"));
    write_checkpoint(root, path);
    bytes = read_bytes(path);
  }
};

// Writes `bytes` to a fresh file and checks that reading it fails naming the file (and
// containing `expected`, if given).
void check_fails(const Sample& s, const std::string& bytes, const std::string& what, const std::string& expected = "") {
  const std::string bad = s.folder.file("bad.pt");
  write_bytes(bad, bytes);
  const std::string message = error_reading(bad);
  INFO(what << ": " << message);
  CHECK(message.find("'" + bad + "'") != std::string::npos);
  if (!expected.empty()) CHECK(message.find(expected) != std::string::npos);
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("a tempo checkpoint carries an integrity record listing every record") {
    Sample s;
    const ZipReader zip(s.path);
    const ZipEntry* manifest = zip.find(kIntegrityRecordName);
    REQUIRE(manifest != nullptr);
    std::string text(manifest->size, '\0');
    CHECK(zip.read(*manifest, text.data()) == manifest->crc32);
    CHECK(text.rfind("tempo-checkpoint 1\nrecords 5\ndata.pkl ", 0) == 0);
    const auto listed = parse_integrity(text, s.path);
    REQUIRE(listed.size() == 5);
    for (const auto& e : listed) {
      const ZipEntry* entry = zip.find(e.name);
      REQUIRE(entry != nullptr);
      CHECK(entry->size == e.size);
      CHECK(entry->crc32 == e.crc32);
    }
    // The integrity record follows every data record in the file.
    for (const auto& e : zip.entries())
      if (e.name.rfind("data", 0) == 0) CHECK(e.header_offset < manifest->header_offset);
  }

  TEST_CASE("truncated checkpoints fail naming the file") {
    Sample s;
    const size_t n = s.bytes.size();
    for (size_t k = 0; k < 20; ++k) check_fails(s, s.bytes.substr(0, n * k / 20), "cut at " + std::to_string(n * k / 20));
    for (size_t cut = n - 100; cut < n; ++cut)
      check_fails(s, s.bytes.substr(0, cut), "cut at " + std::to_string(cut), "truncated");
    check_fails(s, s.bytes.substr(0, n / 2), "cut in half", "was the save interrupted?");
  }

  TEST_CASE("bit flips anywhere that matters fail naming the file") {
    Sample s;
    const ZipReader zip(s.path);
    const auto flip = [&](uint64_t at, int bit, const std::string& what, const std::string& expected = "") {
      std::string bytes = s.bytes;
      REQUIRE(at < bytes.size());
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
      check_fails(s, bytes, what + " (byte " + std::to_string(at) + " bit " + std::to_string(bit) + ")", expected);
    };
    int checked = 0;
    for (const auto& e : zip.entries()) {
      // Record data: tensors, the pickle, the integrity record and the version.
      for (uint64_t at : {uint64_t{0}, e.size / 2, e.size - 1})
        if (e.size > 0)
          for (int bit : {0, 3, 7}) {
            flip(e.data_offset + at, bit, "data of " + e.full_name, "fails its checksum");
            ++checked;
          }
      // Directory entry: signature, CRC, sizes, name length, header offset, name.
      for (uint64_t at : {0, 16, 20, 24, 28, 42, 46, 47}) {
        flip(e.central_offset + at, 0, "directory entry of " + e.full_name);
        flip(e.central_offset + at, 6, "directory entry of " + e.full_name);
        checked += 2;
      }
      // Local header: signature, method, CRC, sizes, name length, name.
      for (uint64_t at : {0, 8, 14, 18, 22, 26, 30}) {
        flip(e.header_offset + at, 1, "local header of " + e.full_name);
        ++checked;
      }
    }
    // End of central directory: counts, directory size and offset.
    for (uint64_t at : {0, 8, 10, 12, 16, 20}) {
      flip(s.bytes.size() - 22 + at, 0, "end record");
      flip(s.bytes.size() - 22 + at, 5, "end record");
      checked += 2;
    }
    CHECK(checked > 150);
  }

  TEST_CASE("empty, foreign and zero-filled files fail saying what they are") {
    Sample s;
    check_fails(s, "", "empty", "is empty");
    check_fails(s, std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + std::string(200, '\x01'), "png",
                "not a PyTorch checkpoint (no zip directory; starts with a PNG signature)");
    check_fails(s, "epoch,loss\n1,0.5\n2,0.25\n", "text", "starts with text 'epoch,loss");
    check_fails(s, std::string(4096, '\0'), "zeros", "starts with zero bytes");
    check_fails(s, std::string(100000, '\0'), "many zeros", "starts with zero bytes");
    check_fails(s, "PK", "tiny", "not a PyTorch checkpoint");
    check_fails(s, s.bytes + "trailing", "trailing bytes");
    check_fails(s, "trailing" + s.bytes, "leading bytes");
  }

  TEST_CASE("a wrong format version in the integrity record is named") {
    Sample s;
    const ZipReader zip(s.path);
    const ZipEntry* manifest = zip.find(kIntegrityRecordName);
    REQUIRE(manifest != nullptr);
    std::string bytes = s.bytes;
    std::string text = bytes.substr(manifest->data_offset, manifest->size);
    REQUIRE(text.rfind("tempo-checkpoint 1\n", 0) == 0);
    text[17] = '9';
    bytes.replace(manifest->data_offset, manifest->size, text);
    const uint32_t crc = crc32(text.data(), text.size());
    if (bytes.substr(manifest->header_offset + 14, 4) != std::string(4, '\0'))
      put_u32(bytes, manifest->header_offset + 14, crc);
    put_u32(bytes, manifest->central_offset + 16, crc);
    // miniz (as torch writes) follows each record with a data descriptor holding the CRC too.
    const uint64_t end = manifest->data_offset + manifest->size;
    if (bytes.substr(end, 4) == std::string("PK\x07\x08", 4)) put_u32(bytes, end + 4, crc);
    check_fails(s, bytes, "version 9", "has unsupported format version 'tempo-checkpoint 9'");
  }

  TEST_CASE("lying sizes in the directory or the pickle are refused without allocating") {
    Sample s;
    const ZipReader zip(s.path);
    const ZipEntry* data0 = zip.find("data/0");
    REQUIRE(data0 != nullptr);
    std::string bytes = s.bytes;
    for (uint64_t at : {data0->central_offset + 20, data0->central_offset + 24, data0->header_offset + 18,
                        data0->header_offset + 22})
      if (at > data0->central_offset || bytes.substr(at, 4) != std::string(4, '\0'))
        put_u32(bytes, at, 0xfffffff0u);  // ~4 GiB, in a file of a few KiB (local sizes stay 0 if they were)
    check_fails(s, bytes, "4 GiB record", "is truncated (expected ");
    check_fails(s, bytes, "4 GiB record", " bytes from its directory, found " + std::to_string(s.bytes.size()) + ")");

    // A directory claiming 65535 entries.
    bytes = s.bytes;
    bytes[bytes.size() - 22 + 8] = bytes[bytes.size() - 22 + 10] = '\xff';
    bytes[bytes.size() - 22 + 9] = bytes[bytes.size() - 22 + 11] = '\x7f';
    check_fails(s, bytes, "many entries", "is damaged");
    // A directory offset far past the end.
    bytes = s.bytes;
    put_u32(bytes, bytes.size() - 22 + 16, 0x7fffffff);
    check_fails(s, bytes, "directory offset", "");
  }

  TEST_CASE("a damaged checkpoint names the record that fails its checksum") {
    Sample s;
    const ZipReader zip(s.path);
    const ZipEntry* data1 = zip.find("data/1");
    REQUIRE(data1 != nullptr);
    std::string bytes = s.bytes;
    bytes[data1->data_offset + 3] ^= 0x10;
    check_fails(s, bytes, "flip in data/1", "record '" + data1->full_name + "' fails its checksum (file damaged)");
  }

  TEST_CASE("undamaged checkpoints still read after the damaged ones") {
    Sample s;
    const auto tree = read_checkpoint(s.path).toGenericDict();
    CHECK(tree.at("model").toGenericDict().at("w").toTensor().sizes() == at::IntArrayRef({30, 10}));
  }

  TEST_CASE("Python's torch.load opens a tempo checkpoint with its integrity record") {
    if (tempo::testing::skip_without_python_torch()) return;
    Sample s;
    const std::string log = s.folder.file("python.log");
    const std::string script =
        "import sys, torch; c = torch.load(sys.argv[1]); "
        "assert c['model']['w'].shape == (30, 10); assert c['model']['mask'].dtype == torch.bool; "
        "c = torch.load(sys.argv[1], weights_only=True); print('ok')";
    const int rc = std::system((kPython + " -c \"" + script + "\" " + s.path + " >" + log + " 2>&1").c_str());
    INFO(read_bytes(log));
    CHECK(rc == 0);
  }
}
