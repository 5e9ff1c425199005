// tempo's zip writer, in its plain and its ZIP64 form (which real checkpoints take from 4 GiB on;
// always_zip64 writes it for small files): read back by tempo's reader, by LibTorch's own
// (caffe2's PyTorchStreamReader, what torch.load uses) and by Python's zipfile.
#include <caffe2/serialize/inline_container.h>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/serialization/zip_reader.h"
#include "tempo/serialization/zip_writer.h"
#include "serialization_support.h"
#include "support/python.h"
#include "tempo/util/checksum.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

struct Record {
  std::string name;
  std::string bytes;
};

std::vector<Record> sample_records() {
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
  return {{"data.pkl", "\x80\x02}q\x00."}, {"data/0", big}, {"data/1", ""}, {"data/2", std::string(129, 'x')}};
}

void write_zip(const std::string& path, bool always_zip64) {
  std::ofstream out(path, std::ios::binary);
  ZipWriter zip([&](const void* data, size_t size) { out.write(static_cast<const char*>(data), size); },
                always_zip64);
  for (const auto& r : sample_records()) {
    if (r.name == "data/0") {  // in pieces, as write_checkpoint hands over large records
      zip.begin_record(r.name, r.bytes.size());
      zip.write_data(r.bytes.data(), 1000);
      zip.write_data(r.bytes.data() + 1000, r.bytes.size() - 1000);
      zip.end_record(crc32(r.bytes.data(), r.bytes.size()));
    } else {
      zip.write_record(r.name, r.bytes.data(), r.bytes.size());
    }
  }
  zip.finish();
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("zip writer: tempo's reader, LibTorch's reader and Python's zipfile read every record, ZIP64 or not") {
    for (const bool zip64 : {false, true}) {
      CAPTURE(zip64);
      ScratchFolder folder;
      const auto path = folder.file("records.zip");
      write_zip(path, zip64);
      const auto records = sample_records();
      const auto file = read_bytes(path);
      // The ZIP64 end record and locator are there exactly when asked for.
      CHECK((file.find(std::string("PK\x06\x06", 4)) != std::string::npos) == zip64);
      CHECK((file.find(std::string("PK\x06\x07", 4)) != std::string::npos) == zip64);

      const ZipReader reader(path);
      REQUIRE(reader.entries().size() == records.size() + 1);
      for (const auto& r : records) {
        const auto* entry = reader.find(r.name);
        REQUIRE(entry != nullptr);
        CHECK(entry->full_name == "archive/" + r.name);
        CHECK(entry->data_offset % 64 == 0);  // loadable in place from a mapping
        CHECK(entry->size == r.bytes.size());
        CHECK(entry->crc32 == crc32(r.bytes.data(), r.bytes.size()));
        std::string back(entry->size, '\0');
        CHECK(reader.read(*entry, back.data()) == entry->crc32);
        CHECK(back == r.bytes);
      }
      const auto* version = reader.find("version");
      REQUIRE(version != nullptr);
      CHECK(file.substr(version->data_offset, version->size) == "3\n");

      caffe2::serialize::PyTorchStreamReader torch_reader(path);
      for (const auto& r : records) {
        auto [data, size] = torch_reader.getRecord(r.name);
        REQUIRE(size == r.bytes.size());
        CHECK(std::string(static_cast<const char*>(data.get()), size) == r.bytes);
      }

      if (python_has_torch()) {  // the Python is there; zipfile needs nothing more
        // Not a structured binding: clang cannot capture one in INFO's lambda.
        const auto result = run_python_script("zip_check.py", path, folder.file("zip_check.log"));
        const std::string& out = result.second;
        INFO(out);
        REQUIRE(result.first == 0);
        std::ostringstream want;
        for (const auto& r : records) {
          want << "archive/" << r.name << " " << r.bytes.size() << " "
               << fmt::format("{:08x}", crc32(r.bytes.data(), r.bytes.size())) << "\n";
        }
        want << "archive/version 2 " << fmt::format("{:08x}", crc32("3\n", 2)) << "\n";
        CHECK(out == want.str());
      }
    }
  }

  TEST_CASE("zip writer: a record must get exactly the bytes it announced") {
    std::string out;
    ZipWriter zip([&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
    zip.begin_record("data/0", 4);
    CHECK_THROWS_AS(zip.write_data("12345", 5), Error);
    zip.write_data("12", 2);
    CHECK_THROWS_AS(zip.end_record(0), Error);
    CHECK_THROWS_AS(zip.begin_record("data/1", 1), Error);
  }
}
