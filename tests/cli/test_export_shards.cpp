// `tempo export --max-shard-size`: Hugging Face's sharded safetensors folder, checked with an
// independent reader (support/raw_safetensors.h), and loaded back by a training run.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "tempo/cli/export.h"
#include "cli_support.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/sharded_safetensors.h"
#include "support/fixtures.h"
#include "support/raw_safetensors.h"
#include "support/temp_dir.h"

using tempo::cli::run_export;
using tempo::testing::CommandResult;
namespace fs = std::filesystem;

namespace {

CommandResult export_(const std::vector<std::string>& args) { return tempo::testing::run_command(run_export, args); }

std::set<std::string> names_in(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
  return names;
}

// The model of checkpoint_tree() in order: fc1.weight 512 bytes, fc1.bias 64, fc2.weight 256,
// fc2.bias 8 (840 in all).
std::vector<std::pair<std::string, at::Tensor>> model_of(const c10::IValue& tree) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& e : tree.toGenericDict().at("state").toGenericDict().at("model").toGenericDict())
    out.emplace_back(e.key().toStringRef(), e.value().toTensor());
  return out;
}

// Every shard of `folder` read by the independent reader, checked byte for byte against `model`
// in order, with the export's metadata; the index (when `index`) lists each tensor exactly once
// in its shard and the right total_size.
void check_folder(const std::string& folder, const std::string& source,
                  const std::vector<std::pair<std::string, at::Tensor>>& model,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& shards) {
  uint64_t total = 0;
  for (const auto& [name, t] : model) total += t.numel() * t.element_size();
  std::set<std::string> expected_files;
  for (const auto& shard : shards) expected_files.insert(shard.first);
  if (shards.size() > 1) {
    expected_files.insert(tempo::kSafetensorsIndexFile);
    const auto index = tempo::testing::MiniJsonParser(
                           tempo::testing::read_file_bytes(folder + "/" + tempo::kSafetensorsIndexFile))
                           .parse();
    CHECK(index.at("metadata").at("total_size").value == total);
    std::map<std::string, std::string> map;
    for (const auto& [name, file] : index.at("weight_map").members) CHECK(map.emplace(name, file.text).second);
    std::map<std::string, std::string> expected_map;
    for (const auto& [file, names] : shards)
      for (const auto& name : names) expected_map[name] = file;
    CHECK(map == expected_map);
  }
  CHECK(names_in(folder) == expected_files);
  size_t next = 0;
  for (const auto& [file, names] : shards) {
    CAPTURE(file);
    const auto raw = tempo::testing::read_raw_safetensors(folder + "/" + file);
    CHECK(raw.metadata == std::map<std::string, std::string>{
                              {"format", "pt"}, {"source", source}, {"tempo_version", "0.1.0"}});
    REQUIRE(raw.tensors.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i, ++next) {
      REQUIRE(next < model.size());
      CHECK(raw.tensors[i].first == names[i]);
      CHECK(names[i] == model[next].first);
      CHECK(tempo::testing::raw_equals(raw.tensors[i].second, model[next].second));
    }
  }
  CHECK(next == model.size());
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("export --max-shard-size writes Hugging Face's sharded safetensors folder") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "ckpt.pt";
    const auto tree = tempo::testing::checkpoint_tree();
    tempo::write_checkpoint(tree, checkpoint);
    const auto model = model_of(tree);

    // 840 bytes fit 1KB: one model.safetensors, no index, in a folder created for it.
    const auto out = dir / "hf";
    const auto one = export_({checkpoint, "--format", "safetensors", "--max-shard-size", "1KB", out});
    CHECK(one.err == "");
    CHECK(one.status == 0);
    CHECK(one.out == "exported 4 tensors (840 bytes) to " + out + " in 1 shard (model.safetensors)\n");
    check_folder(out, checkpoint, model, {{"model.safetensors", {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}}});

    // 300 bytes: fc1.weight (512) alone, fc1.bias (64) before fc2.weight (256) would tip it over,
    // then fc2.weight and fc2.bias (264). The lone model.safetensors of the first export goes.
    const auto three = export_({checkpoint, "--max-shard-size=300", out});
    CHECK(three.err == "");
    CHECK(three.status == 0);
    CHECK(three.out == "exported 4 tensors (840 bytes) to " + out +
                           " in 3 shards (model-00001-of-00003.safetensors ... and model.safetensors.index.json)\n");
    check_folder(out, checkpoint, model,
                 {{"model-00001-of-00003.safetensors", {"fc1.weight"}},
                  {"model-00002-of-00003.safetensors", {"fc1.bias"}},
                  {"model-00003-of-00003.safetensors", {"fc2.weight", "fc2.bias"}}});

    // Fewer shards: the third shard of the earlier export is removed. 600 bytes: [512 + 64], [256 + 8].
    CHECK(export_({checkpoint, "--max-shard-size", "600B", out}).status == 0);
    check_folder(out, checkpoint, model,
                 {{"model-00001-of-00002.safetensors", {"fc1.weight", "fc1.bias"}},
                  {"model-00002-of-00002.safetensors", {"fc2.weight", "fc2.bias"}}});

    // The folder is itself an input: `tempo export` takes it as it takes a safetensors file.
    const auto flat = dir / "flat.safetensors";
    CHECK(export_({out, flat}).status == 0);
    const auto raw = tempo::testing::read_raw_safetensors(flat);
    REQUIRE(raw.tensors.size() == model.size());
    for (size_t i = 0; i < model.size(); ++i) CHECK(tempo::testing::raw_equals(raw.tensors[i].second, model[i].second));
  }

  TEST_CASE("export --max-shard-size keeps OUT's safety rules, for the folder and the files in it") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "ckpt.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), checkpoint);
    const auto before = tempo::testing::read_text(checkpoint);

    // A bad size is refused before anything is read or written.
    for (const std::string bad : {"5XB", "1.5GB", "0", "-3", ""}) {
      const auto r = export_({checkpoint, "--max-shard-size", bad, dir / "never"});
      CHECK(r.status == 2);
      CHECK(r.err.rfind("tempo export: --max-shard-size: '" + bad + "'", 0) == 0);
      CHECK(r.err.find("KiB") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(dir / "never"));
    const auto missing_value = export_({checkpoint, dir / "never", "--max-shard-size"});
    CHECK(missing_value.status == 2);
    CHECK(missing_value.err.find("usage: tempo export") != std::string::npos);

    // OUT a regular file (even a safetensors one), a link, CHECKPOINT's own folder: refused, with --force too.
    const auto file = dir / "w.safetensors";
    REQUIRE(export_({checkpoint, file}).status == 0);
    const auto link = dir / "link";
    fs::create_directory(dir / "real");
    fs::create_directory_symlink(dir / "real", link);
    for (const bool force : {false, true}) {
      auto args = [&](const std::string& out) {
        auto a = std::vector<std::string>{checkpoint, "--max-shard-size", "300", out};
        if (force) a.push_back("--force");
        return a;
      };
      const auto r = export_(args(file));
      CHECK(r.status == 2);
      CHECK(r.err == "tempo export: OUT '" + file +
                         "' exists and is not a folder; with --max-shard-size OUT is the folder to write the shards "
                         "to\n");
      const auto l = export_(args(link));
      CHECK(l.err == "tempo export: OUT '" + link + "' is a symbolic link; name the folder itself\n");
      const auto slash = export_(args(link + "/"));  // a trailing slash does not follow the link
      CHECK(slash.err == "tempo export: OUT '" + link + "' is a symbolic link; name the folder itself\n");
      CHECK(names_in(dir / "real").empty());
      const auto shards = dir / "shards";
      REQUIRE(export_({checkpoint, "--max-shard-size", "300", shards}).status == 0);
      const auto self = export_({shards, "--max-shard-size", "300", shards});
      CHECK(self.status == 2);
      CHECK(self.err == "tempo export: OUT '" + shards + "' is CHECKPOINT itself; choose another folder\n");
    }

    // Inside the folder: a training checkpoint under a shard's name needs --force; CHECKPOINT
    // itself there, a link or a folder in the index's place never.
    const auto out = dir / "out";
    fs::create_directory(out);
    fs::copy_file(checkpoint, out + "/model-00002-of-00002.safetensors");
    const auto guarded = export_({checkpoint, "--max-shard-size", "300", out});
    CHECK(guarded.status == 2);
    CHECK(guarded.err == "tempo export: OUT '" + out +
                             "/model-00002-of-00002.safetensors' exists and is not a safetensors file (a training "
                             "checkpoint?); pass --force to replace it\n");
    CHECK(names_in(out) == std::set<std::string>{"model-00002-of-00002.safetensors"});
    CHECK(export_({out + "/model-00002-of-00002.safetensors", "--max-shard-size", "300", "--force", out}).status == 2);
    CHECK(export_({checkpoint, "--max-shard-size", "300", "--force", out}).status == 0);
    CHECK(names_in(out).size() == 4);  // 3 shards and the index; the stale name removed
    fs::remove(out + "/" + tempo::kSafetensorsIndexFile);
    fs::create_directory(out + "/" + tempo::kSafetensorsIndexFile);
    const auto index_dir = export_({checkpoint, "--max-shard-size", "300", "--force", out});
    CHECK(index_dir.status == 2);
    CHECK(index_dir.err.find("model.safetensors.index.json' exists and is not a regular file") != std::string::npos);
    CHECK(tempo::testing::read_text(checkpoint) == before);
  }

  TEST_CASE("a run's load_path with load_weights_only takes an exported shard folder, exactly") {
    using namespace tempo::testing;
    TempDir dir;
    auto trained = make_run(blobs(12), "1ep", [&](tempo::TrainerOptions& o) {
      o.save_folder(dir / "ckpt").save_interval("1ep");
    });
    trained.trainer->fit();
    std::string checkpoint;
    for (const auto& entry : fs::directory_iterator(dir / "ckpt"))
      if (entry.is_regular_file() && entry.path().extension() == ".pt") checkpoint = entry.path().string();
    REQUIRE_FALSE(checkpoint.empty());

    // TinyNet: fc1.weight 512 bytes, fc1.bias 64, fc2.weight 128, fc2.bias 8: two shards at 300 bytes.
    const auto sharded = dir / "sharded";
    const auto r = export_({checkpoint, "--max-shard-size", "300", sharded});
    CHECK(r.status == 0);
    CHECK(r.out.find(" in 2 shards ") != std::string::npos);
    CHECK(names_in(sharded).count(tempo::kSafetensorsIndexFile) == 1);
    const auto single = dir / "single";
    CHECK(export_({checkpoint, "--max-shard-size", "1KiB", single}).status == 0);
    CHECK(names_in(single) == std::set<std::string>{"model.safetensors"});

    for (const auto& folder : {sharded, single}) {
      CAPTURE(folder);
      auto loaded = make_run(blobs(12), "1ep", 42, 99, {}, 4, [&](tempo::TrainerOptions& o) {
        o.load_path(folder).load_weights_only(true);
      });
      CHECK(bit_equal(weights(*trained.model), weights(*loaded.model)));
    }
    auto fresh = make_run(blobs(12), "1ep", 42, 99);
    CHECK_FALSE(bit_equal(weights(*trained.model), weights(*fresh.model)));  // the load made them equal

    // A damaged index stops the run with the file and the fault named.
    write_text(sharded + "/" + tempo::kSafetensorsIndexFile,
               "{\"metadata\": {\"total_size\": 712}, \"weight_map\": {\"fc1.weight\": \"../x.safetensors\"}}");
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](tempo::TrainerOptions& o) {
                           o.load_path(sharded).load_weights_only(true);
                         }),
                         doctest::Contains((std::string(tempo::kSafetensorsIndexFile) +
                                            ": weight_map entry 'fc1.weight' names shard '../x.safetensors'")
                                               .c_str()),
                         tempo::CheckpointError);
  }
}
