// Loading large records in place from the memory-mapped file: the values, the checksum, that
// writing to a loaded tensor never reaches the file, and that the mapping lives exactly as long
// as the tensors pointing into it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/zip_reader.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Whether /proc/self/maps lists a mapping of `path`.
bool is_mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto name = std::filesystem::canonical(path).string();
  while (std::getline(maps, line))
    if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) return true;
  return false;
}

c10::IValue big_tree() {
  auto model = str_dict();
  // 2.4 MB: mapped when read, and checksummed on a second thread while it is written.
  model.insert("big", at::arange(600000, at::kFloat) / 3);
  model.insert("small", at::arange(10, at::kLong));        // 80 B: read
  auto root = str_dict();
  root.insert("model", model);
  return root;
}

at::Tensor model_tensor(const c10::IValue& tree, const std::string& name) {
  return tree.toGenericDict().at("model").toGenericDict().at(name).toTensor();
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("large records load in place from the mapped file, small ones are read") {
    ScratchFolder folder;
    const auto path = folder.file("big.pt");
    const auto tree = big_tree();
    write_checkpoint(tree, path);
    const auto before = read_bytes(path);
    {
      const auto loaded = read_checkpoint(path);
      check_same_tree(tree, loaded);
      CHECK(is_mapped(path));
      // Copy-on-write: the loaded tensor can be trained on; the file keeps its bytes.
      auto big = model_tensor(loaded, "big");
      big.mul_(2).add_(1);
      CHECK(big[3].item<float>() == doctest::Approx(3.0f));
      CHECK(read_bytes(path) == before);
      // An unlinked file stays readable through the tensors that map it.
      std::filesystem::remove(path);
      CHECK(model_tensor(loaded, "big")[599999].item<float>() == doctest::Approx(2 * 599999.0f / 3 + 1));
    }
    // The last tensor gone, the mapping is gone too.
    write_checkpoint(tree, path);
    { const auto loaded = read_checkpoint(path); }
    CHECK_FALSE(is_mapped(path));
  }

  TEST_CASE("a damaged byte inside a mapped record fails its checksum, naming the file") {
    ScratchFolder folder;
    const auto path = folder.file("big.pt");
    write_checkpoint(big_tree(), path);
    const ZipReader zip(path);
    const auto* entry = zip.find("data/0");
    REQUIRE(entry != nullptr);
    REQUIRE(entry->size == 2400000);
    auto bytes = read_bytes(path);
    bytes[entry->data_offset + entry->size / 2] ^= 0x10;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH_AS(read_checkpoint(path),
                         doctest::Contains(("checkpoint '" + path + "' record 'archive/data/0' fails its checksum").c_str()),
                         CheckpointError);
  }
}
