// Checkpoint files on disk: zip layout, atomic replacement, and the errors for bad paths and
// files that are not checkpoints.
#include <caffe2/serialize/inline_container.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/checkpoint_file.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("checkpoint file round trip is bit-exact and leaves no temporary") {
    ScratchFolder folder;
    const std::string path = folder.file("ep1-rank0.pt");
    const c10::IValue tree = sample_tree();
    write_checkpoint(tree, path);
    CHECK(folder.entries() == std::vector<std::string>{"ep1-rank0.pt"});
    const c10::IValue back = read_checkpoint(path);
    check_same_tree(tree, back);
    const auto model = back.toGenericDict().at("state").toGenericDict().at("model").toGenericDict();
    CHECK(model.at("w_row").toTensor().storage().unsafeGetStorageImpl() ==
          model.at("w").toTensor().storage().unsafeGetStorageImpl());
  }

  TEST_CASE("checkpoint files hold the records torch.save writes") {
    ScratchFolder folder;
    const std::string path = folder.file("x.pt");
    auto d = str_dict();
    at::Tensor t = at::arange(6, at::kFloat);
    d.insert("a", t);
    d.insert("b", t.slice(0, 1, 3));
    d.insert("c", at::scalar_tensor(3, at::kLong));
    write_checkpoint(d, path);
    caffe2::serialize::PyTorchStreamReader reader(path);
    auto records = reader.getAllRecords();
    std::sort(records.begin(), records.end());
    CHECK(records == std::vector<std::string>{".data/tempo_integrity", "data.pkl", "data/0", "data/1", "version"});
    auto [version, size] = reader.getRecord("version");
    CHECK(std::string(static_cast<const char*>(version.get()), size) == "3\n");
    auto [data, data_size] = reader.getRecord("data/0");
    REQUIRE(data_size == 6 * sizeof(float));
    CHECK(std::memcmp(data.get(), t.data_ptr(), data_size) == 0);
    // Records are stored uncompressed and 64-byte aligned, so they can be mapped in place.
    CHECK(reader.getRecordOffset("data/0") % 64 == 0);
  }

  TEST_CASE("writing over an existing checkpoint replaces it atomically") {
    ScratchFolder folder;
    const std::string path = folder.file("latest.pt");
    auto first = str_dict();
    first.insert("n", int64_t{1});
    write_checkpoint(first, path);
    auto second = str_dict();
    second.insert("n", int64_t{2});
    second.insert("t", at::ones({1000}));
    write_checkpoint(second, path);
    CHECK(folder.entries() == std::vector<std::string>{"latest.pt"});
    check_same_tree(second, read_checkpoint(path));
  }

  TEST_CASE("failing writes throw CheckpointError naming the path and leave no temporary") {
    ScratchFolder folder;
    auto d = str_dict();
    d.insert("t", at::ones({4}));
    const std::string missing = folder.file("no/such/folder/ckpt.pt");
    CHECK_THROWS_WITH_AS(write_checkpoint(d, missing), doctest::Contains(missing.c_str()), CheckpointError);
    CHECK_THROWS_WITH_AS(write_checkpoint(d, missing), doctest::Contains("No such file or directory"),
                         CheckpointError);

    const std::string dir = folder.file("a_folder");
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    CHECK_THROWS_WITH_AS(write_checkpoint(d, dir), doctest::Contains(dir.c_str()), CheckpointError);
    CHECK(folder.entries() == std::vector<std::string>{"a_folder"});

    auto bad = str_dict();
    bad.insert("z", at::ones({2}, at::kComplexDouble));
    CHECK_THROWS_WITH_AS(write_checkpoint(bad, folder.file("bad.pt")), doctest::Contains("bad.pt"),
                         CheckpointError);
    CHECK(folder.entries() == std::vector<std::string>{"a_folder"});
  }

  TEST_CASE("AtomicFile removes its temporary unless committed") {
    ScratchFolder folder;
    {
      AtomicFile file(folder.file("f"));
      file.write("abc", 3);
      CHECK(file.temp_path().find("/.tmp.f.") != std::string::npos);
      CHECK(folder.entries().size() == 1);
    }
    CHECK(folder.entries().empty());
    AtomicFile file(folder.file("f"));
    file.write("abc", 3);
    file.commit();
    CHECK(read_bytes(folder.file("f")) == "abc");
    CHECK(folder.entries() == std::vector<std::string>{"f"});
  }

  TEST_CASE("atomic_symlink creates and replaces links") {
    ScratchFolder folder;
    const std::string link = folder.file("latest-rank0.pt");
    atomic_symlink("ep1-rank0.pt", link);
    atomic_symlink("ep2-rank0.pt", link);
    char target[256] = {};
    REQUIRE(::readlink(link.c_str(), target, sizeof target - 1) > 0);
    CHECK(std::string(target) == "ep2-rank0.pt");
    CHECK(folder.entries() == std::vector<std::string>{"latest-rank0.pt"});
    CHECK_THROWS_AS(atomic_symlink("x", folder.file("missing/link")), CheckpointError);
  }

  TEST_CASE("reading something that is not a checkpoint names the file") {
    ScratchFolder folder;
    const std::string missing = folder.file("missing.pt");
    CHECK(error_reading(missing) == "checkpoint '" + missing + "' does not exist");

    const std::string text = folder.file("notes.txt");
    write_text(text, "these are not the weights you are looking for\n");
    CHECK(error_reading(text).find("'" + text + "' is not a PyTorch checkpoint") != std::string::npos);
    CHECK(error_reading(folder.path()).find(folder.path()) != std::string::npos);

    const std::string good = folder.file("good.pt");
    auto d = str_dict();
    d.insert("t", at::arange(1000, at::kFloat));
    write_checkpoint(d, good);
    const std::string bytes = read_bytes(good);
    for (size_t cut : {bytes.size() / 2, bytes.size() - 30, size_t{10}}) {
      const std::string truncated = folder.file("truncated.pt");
      write_text(truncated, bytes.substr(0, cut));
      CHECK(error_reading(truncated).find(truncated) != std::string::npos);
    }
  }
}
