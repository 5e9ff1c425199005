#include "tempo/serialization/sharded_safetensors.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tempo/errors/error.h"
#include "tempo/serialization/weights_file.h"
#include "support/raw_safetensors.h"
#include "support/temp_dir.h"

using namespace tempo;
using tempo::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Sizes chosen so that with a 1000-byte limit the split is known: [a 400 + b 400], [c 1200, larger
// than the limit, alone], [d 200 + e 800, exactly the limit], [f 8, which would tip it over].
NamedTensors sample_tensors(float shift = 0) {
  NamedTensors t;
  t.emplace_back("a", (torch::arange(100, torch::kFloat).reshape({10, 10}) + shift).t());  // not contiguous
  t.emplace_back("b", torch::arange(400, torch::kInt).remainder(251).to(torch::kByte));
  t.emplace_back("c", torch::linspace(-3, 3, 150, torch::kDouble).reshape({3, 50}) + shift);
  t.emplace_back("d", torch::arange(100, torch::kFloat).to(torch::kBFloat16));
  t.emplace_back("e", torch::arange(200, torch::kInt) * 7);
  t.emplace_back("f", torch::tensor({int64_t{1} << 40}));
  return t;
}

std::set<std::string> files_in(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
  return names;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

const std::string kShard1 = "model-00001-of-00004.safetensors", kShard2 = "model-00002-of-00004.safetensors",
                  kShard3 = "model-00003-of-00004.safetensors", kShard4 = "model-00004-of-00004.safetensors";

// Checks `folder` against `tensors` with the independent reader: the index covers every tensor
// exactly once, total_size is their bytes, and each shard holds `expected` (shard -> names in
// order) byte for byte.
void check_export(const std::string& folder, const NamedTensors& tensors,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& expected) {
  std::map<std::string, at::Tensor> source(tensors.begin(), tensors.end());
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) total += t.numel() * t.element_size();
  if (expected.size() > 1) {
    const auto index = testing::MiniJsonParser(testing::read_file_bytes(folder + "/" + kSafetensorsIndexFile)).parse();
    CHECK(index.at("metadata").at("total_size").value == total);
    std::map<std::string, std::string> map;
    // No structured bindings here: doctest's macros capture them in lambdas, which C++17 forbids.
    for (const auto& member : index.at("weight_map").members) {
      const std::string& name = member.first;
      CHECK_MESSAGE(map.emplace(name, member.second.text).second, name);  // never twice
    }
    CHECK(map.size() == tensors.size());
    for (const auto& shard : expected)
      for (const auto& name : shard.second) CHECK_MESSAGE(map[name] == shard.first, name);
  }
  for (const auto& shard : expected) {
    const std::string& file = shard.first;
    const std::vector<std::string>& names = shard.second;
    CAPTURE(file);
    const auto raw = testing::read_raw_safetensors(folder + "/" + file);
    CHECK(raw.metadata == std::map<std::string, std::string>{{"format", "pt"}});
    REQUIRE(raw.tensors.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      CAPTURE(names[i]);
      CHECK(raw.tensors[i].first == names[i]);
      CHECK(testing::raw_equals(raw.tensors[i].second, source.at(names[i])));
    }
  }
}

bool same_tensors(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || testing::logical_bytes(a[i].second) != testing::logical_bytes(b[i].second) ||
        a[i].second.scalar_type() != b[i].second.scalar_type() || a[i].second.sizes() != b[i].second.sizes())
      return false;
  return true;
}

const std::map<std::string, std::string> kMeta{{"format", "pt"}};

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("sharded safetensors: tensors in order, split before the one that tips a shard over, big ones alone") {
    TempDir dir;
    const auto tensors = sample_tensors();
    const auto folder = dir / "out";  // created
    const auto shards = write_sharded_safetensors(tensors, kMeta, folder, 1000);
    REQUIRE(shards.size() == 4);
    CHECK(shards[0].bytes == 800);
    CHECK(shards[1].bytes == 1200);
    CHECK(shards[2].bytes == 1000);
    CHECK(shards[3].bytes == 8);
    CHECK(files_in(folder) == std::set<std::string>{kShard1, kShard2, kShard3, kShard4, kSafetensorsIndexFile});
    check_export(folder, tensors, {{kShard1, {"a", "b"}}, {kShard2, {"c"}}, {kShard3, {"d", "e"}}, {kShard4, {"f"}}});

    // Read back (by tempo) in the export's order; open_weights_file takes the folder as safetensors.
    std::map<std::string, std::string> metadata;
    CHECK(same_tensors(read_safetensors_folder(folder, &metadata), tensors));
    CHECK(metadata == kMeta);
    const auto file = open_weights_file(folder);
    CHECK(file.format == "safetensors");
    CHECK(file.tree.toGenericDict().size() == tensors.size());
  }

  TEST_CASE("sharded safetensors: one shard is a lone model.safetensors, no index") {
    TempDir dir;
    const auto tensors = sample_tensors();
    const auto shards = write_sharded_safetensors(tensors, kMeta, dir.path(), parse_file_size("1GB", "size"));
    REQUIRE(shards.size() == 1);
    CHECK(shards[0].file == kSafetensorsSingleFile);
    CHECK(files_in(dir.path()) == std::set<std::string>{kSafetensorsSingleFile});
    check_export(dir.path(), tensors, {{kSafetensorsSingleFile, {"a", "b", "c", "d", "e", "f"}}});
    CHECK(same_tensors(read_safetensors_folder(dir.path()), tensors));
  }

  TEST_CASE("sharded safetensors: a re-export removes the earlier export's files it does not write") {
    TempDir dir;
    const auto folder = dir.path();
    write_text(dir / "README.md", "kept");
    write_text(dir / "model-1-of-2.safetensors", "not our pattern: kept");
    write_sharded_safetensors(sample_tensors(), kMeta, folder, 1000);
    REQUIRE(files_in(folder).size() == 7);

    // Fewer shards: 4 -> 2 ([a b c] is exactly 2000 bytes), new values.
    const auto second = sample_tensors(1);
    REQUIRE(write_sharded_safetensors(second, kMeta, folder, 2000).size() == 2);
    const std::string s1 = "model-00001-of-00002.safetensors", s2 = "model-00002-of-00002.safetensors";
    CHECK(files_in(folder) ==
          std::set<std::string>{s1, s2, kSafetensorsIndexFile, "README.md", "model-1-of-2.safetensors"});
    check_export(folder, second, {{s1, {"a", "b", "c"}}, {s2, {"d", "e", "f"}}});
    CHECK(same_tensors(read_safetensors_folder(folder), second));

    // Same layout, new values: the same names are rewritten.
    const auto third = sample_tensors(2);
    write_sharded_safetensors(third, kMeta, folder, 2000);
    CHECK(files_in(folder).size() == 5);
    CHECK(same_tensors(read_safetensors_folder(folder), third));

    // One shard: the index and the shards go.
    write_sharded_safetensors(second, kMeta, folder, 1'000'000);
    CHECK(files_in(folder) ==
          std::set<std::string>{kSafetensorsSingleFile, "README.md", "model-1-of-2.safetensors"});
    CHECK(same_tensors(read_safetensors_folder(folder), second));

    // And back to shards: the lone file goes.
    write_sharded_safetensors(third, kMeta, folder, 1000);
    CHECK(files_in(folder) == std::set<std::string>{kShard1, kShard2, kShard3, kShard4, kSafetensorsIndexFile,
                                                    "README.md", "model-1-of-2.safetensors"});
    CHECK(same_tensors(read_safetensors_folder(folder), third));
  }

  TEST_CASE("sharded safetensors: every file goes through the Env, the index last") {
    struct Recording : EnvWrapper {
      using EnvWrapper::EnvWrapper;
      std::vector<std::string> renamed;
      int rename(const char* from, const char* to) override {
        renamed.push_back(fs::path(to).filename().string());
        return EnvWrapper::rename(from, to);
      }
    } env(Env::posix());
    TempDir dir;
    write_sharded_safetensors(sample_tensors(), kMeta, dir.path(), 1000, env);
    CHECK(env.renamed == std::vector<std::string>{kShard1, kShard2, kShard3, kShard4, kSafetensorsIndexFile});
  }

  TEST_CASE("sharded safetensors: a folder's index is validated strictly") {
    TempDir dir;
    const auto folder = dir.path();
    const auto index = dir / kSafetensorsIndexFile;
    write_sharded_safetensors(sample_tensors(), kMeta, folder, 1000);
    const std::string good = testing::read_file_bytes(index);
    const auto fails_with = [&](const std::string& text, const std::string& fault) {
      write_text(index, text);
      CAPTURE(text);
      CHECK_THROWS_WITH_AS(read_safetensors_folder(folder), doctest::Contains(fault.c_str()), CheckpointError);
      CHECK_THROWS_WITH_AS(read_safetensors_folder(folder), doctest::Contains(index.c_str()), CheckpointError);
    };
    const auto with = [&](const std::string& from, const std::string& to) {
      auto text = good;
      const auto at = text.find(from);
      REQUIRE(at != std::string::npos);
      return text.replace(at, from.size(), to);
    };
    CHECK(same_tensors(read_safetensors_folder(folder), sample_tensors()));
    fails_with(with("\"total_size\": 3008", "\"total_size\": 3009"),
               "total_size is 3009 but the listed tensors hold 3008");
    fails_with(with("\"a\": \"" + kShard1, "\"a\": \"../" + kShard1), "is a path, not a file name");
    fails_with(with("\"a\": \"" + kShard1, "\"a\": \".."), "'..', which is not a file name");
    fails_with(with("\"f\": \"" + kShard4, "\"f\": \"model-00009-of-00009.safetensors"), "does not exist");
    fails_with(with("\"f\": \"" + kShard4, "\"f\": \"" + kShard3), "tensor 'f' is listed in shard '" + kShard3 + "' but that shard does not hold it");
    fails_with(with("\"a\": \"" + kShard1 + "\",", ""), "holds tensor 'a', which weight_map does not list");
    fails_with(with("\"b\": \"" + kShard1, "\"b\": \"" + kShard1 + "\", \"b\": \"" + kShard1), "duplicate");
    fails_with(with("\"b\": \"" + kShard1 + "\"", "\"b\": \"" + kShard1 + "\", \"zz\": \"" + kShard1 + "\""),
               "tensor 'zz' is listed in shard '" + kShard1 + "' but that shard does not hold it");
    fails_with(with("\"b\": \"" + kShard1, "\"zz\": \"" + kShard1), "holds tensor 'b', which weight_map does not list");
    fails_with(with("\"b\": \"" + kShard1 + "\"", "\"b\": 1"), "must be a file name string");
    fails_with(with("\"metadata\"", "\"meta\""), "\"metadata\" must be an object");
    fails_with("[]", "must be a JSON object");
    fails_with("{", "invalid JSON");

    // A tensor in two shards: shard 4 rewritten to hold "e" too.
    write_text(index, good);
    write_safetensors({{"e", torch::zeros({3})}, {"f", torch::tensor({int64_t{1} << 40})}}, kMeta, dir / kShard4);
    CHECK_THROWS_WITH_AS(read_safetensors_folder(folder),
                         doctest::Contains(("tensor 'e' is in both shard '" + kShard3 + "' and shard '" + kShard4 + "'")
                                               .c_str()),
                         CheckpointError);

    // No model.safetensors and no index: not a weights folder.
    fs::remove(index);
    CHECK_THROWS_WITH_AS(read_safetensors_folder(folder), doctest::Contains("holds neither model.safetensors nor"),
                         CheckpointError);
  }

  TEST_CASE("parse_file_size reads Hugging Face's size strings") {
    CHECK(parse_file_size("2GB", "s") == 2'000'000'000);
    CHECK(parse_file_size("500MB", "s") == 500'000'000);
    CHECK(parse_file_size("10KB", "s") == 10'000);
    CHECK(parse_file_size("1TB", "s") == 1'000'000'000'000);
    CHECK(parse_file_size("1GiB", "s") == (uint64_t{1} << 30));
    CHECK(parse_file_size("3MiB", "s") == 3 * (uint64_t{1} << 20));
    CHECK(parse_file_size("4KiB", "s") == 4096);
    CHECK(parse_file_size("2TiB", "s") == (uint64_t{2} << 40));
    CHECK(parse_file_size("4096", "s") == 4096);
    CHECK(parse_file_size("77B", "s") == 77);
    CHECK(parse_file_size(" 5gb ", "s") == 5'000'000'000);
    CHECK(parse_file_size("5 MB", "s") == 5'000'000);
    for (const std::string bad : {"", "GB", "1.5GB", "5XB", "-1", "0", "0KB", "1e9", "99999999999999999999",
                                  "20000000TB", "5 G B", "10KiBs"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(parse_file_size(bad, "--max-shard-size"),
                           doctest::Contains(("--max-shard-size: '" + bad + "'").c_str()), ConfigError);
      CHECK_THROWS_WITH_AS(parse_file_size(bad, "--max-shard-size"), doctest::Contains("KB, MB, GB, TB"), ConfigError);
    }
  }
}
