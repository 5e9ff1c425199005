// `tempo export --format torchscript` (cli/export_torchscript.h): which module it fills, and what
// it refuses. The round trip through Python is in tests/trainer/test_torchscript_model.cpp.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tempo/cli/export.h"
#include "tempo/models/torchscript_model.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/model_state.h"
#include "cli_support.h"
#include "support/python.h"
#include "support/temp_dir.h"
#include "support/torchscript_modules.h"

using tempo::cli::run_export;
using tempo::testing::CommandResult;

namespace {

CommandResult export_(const std::vector<std::string>& args) { return tempo::testing::run_command(run_export, args); }

// A tempo checkpoint of `model`'s weights (scaled, so they differ from the module file's), with the
// metadata a run of it records.
void write_model_checkpoint(tempo::TorchScriptModel& model, const std::string& path) {
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model.parameters()) p.mul_(2).add_(0.25);
  }
  auto tree = tempo::testing::checkpoint_tree().toGenericDict();
  auto state = tree.at("state").toGenericDict();
  state.insert_or_assign("model", tempo::model_state_dict(model));
  auto metadata = state.at("metadata").toGenericDict();
  for (const auto& [key, value] : model.checkpoint_metadata()) metadata.insert_or_assign(key, value);
  tempo::write_checkpoint(tree, path);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("export --format torchscript: a checkpoint that names no module needs --module; --module is torchscript's") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "ckpt.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), checkpoint);
    auto r = export_({checkpoint, "--format", "torchscript", dir / "out.pt"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: '" + checkpoint +
                       "' does not name a TorchScript module (its state/metadata has no torchscript_module: it was not "
                       "trained from model: {torchscript: ...}); pass --module MODULE.pt\n");
    r = export_({checkpoint, "--module", dir / "m.pt", dir / "out.safetensors"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: --module does not apply to --format safetensors\n");
    CHECK(!std::filesystem::exists(dir / "out.pt"));
  }

  TEST_CASE("export --format torchscript: the recorded module if unchanged, --module otherwise; names and shapes "
            "must match") {
    if (tempo::testing::skip_without_python_torch()) return;
    const auto modules = tempo::testing::torchscript_modules();
    REQUIRE(!modules.empty());
    tempo::testing::TempDir dir;
    const auto module = dir / "m.pt";
    std::filesystem::copy_file(modules + "/mlp.pt", module);
    tempo::TorchScriptModel model(tempo::TorchScriptModelOptions(module).loss("cross_entropy"));
    const auto checkpoint = dir / "ckpt.pt";
    write_model_checkpoint(model, checkpoint);

    // OUT refusals: a file that is no TorchScript archive (without --force), the module itself.
    std::ofstream(dir / "notes.txt") << "keep me";
    auto r = export_({checkpoint, "--format", "torchscript", dir / "notes.txt"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: OUT '" + (dir / "notes.txt") +
                       "' exists and is not a TorchScript file (a training checkpoint?); pass --force to replace it\n");
    CHECK(slurp(dir / "notes.txt") == "keep me");
    r = export_({checkpoint, "--format", "torchscript", module});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: '" + checkpoint + "': OUT '" + module +
                       "' is the module file itself; write the trained module to another name\n");

    const auto out = dir / "trained.pt";
    r = export_({checkpoint, "--format=torchscript", out});
    CHECK(r.err == "");
    REQUIRE(r.status == 0);
    auto loaded = torch::jit::load(out);
    for (const auto& [name, tensor] : tempo::torchscript_state(loaded)) {
      CAPTURE(name);
      CHECK(torch::equal(tensor, model.named_parameters()[name]));
    }
    // Replacing a TorchScript archive needs no --force.
    r = export_({checkpoint, "--format", "torchscript", out});
    CHECK(r.status == 0);

    // The module file changes (same names and shapes, other code): refused unless named.
    std::filesystem::copy_file(modules + "/mlp_loss.pt", module, std::filesystem::copy_options::overwrite_existing);
    r = export_({checkpoint, "--format", "torchscript", dir / "again.pt"});
    CHECK(r.status == 2);
    const auto crc = tempo::load_torchscript_file(module).crc32;
    CHECK(r.err == "tempo export: module '" + module + "' has changed since '" + checkpoint +
                       "' was trained from it (CRC-32 " + crc + ", then " + model.crc32() + "); pass --module " +
                       module + " to export into it anyway (its names and shapes are still checked)\n");
    r = export_({checkpoint, "--format", "torchscript", "--module", module, dir / "again.pt"});
    CHECK(r.err == "");
    CHECK(r.status == 0);
    CHECK(torch::jit::load(dir / "again.pt").find_method("loss").has_value());

    // Another module: nothing written, every difference named.
    r = export_({checkpoint, "--format", "torchscript", "--module", modules + "/regress.pt", dir / "other.pt"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: module '" + modules + "/regress.pt' does not match the weights of '" + checkpoint +
                       "': not in the checkpoint: weight, bias; not in the module: head.bias, head.weight, "
                       "layers.0.bias, layers.0.weight\n");
    CHECK(!std::filesystem::exists(dir / "other.pt"));
  }
}
