#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "tempo/cli/export.h"
#include "cli_support.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/serialization/weights_file.h"
#include "support/python.h"
#include "support/temp_dir.h"

using tempo::cli::run_export;
using tempo::testing::CommandResult;

namespace {

CommandResult export_(const std::vector<std::string>& args) { return tempo::testing::run_command(run_export, args); }

// Same dtype, shape and bytes (so NaN compares equal to NaN).
bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("export writes a tempo checkpoint's model as safetensors, bit for bit and in order") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "ckpt.pt";
    const auto tree = tempo::testing::checkpoint_tree();
    tempo::write_checkpoint(tree, checkpoint);
    const auto out = dir / "model.safetensors";

    const auto r = export_({checkpoint, "--format", "safetensors", out});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == "exported 4 tensors (840 bytes) to " + out + "\n");

    std::map<std::string, std::string> metadata;
    const auto tensors = tempo::read_safetensors(out, &metadata);
    CHECK(metadata ==
          std::map<std::string, std::string>{{"format", "pt"}, {"source", checkpoint}, {"tempo_version", "0.1.0"}});
    const auto model = tree.toGenericDict().at("state").toGenericDict().at("model").toGenericDict();
    REQUIRE(tensors.size() == model.size());
    size_t i = 0;
    for (const auto& entry : model) {
      CAPTURE(entry.key().toStringRef());
      CHECK(tensors[i].first == entry.key().toStringRef());
      CHECK(bit_equal(tensors[i].second, entry.value().toTensor()));
      ++i;
    }

    // A safetensors file exports to the same tensors; --format=... and the default format work.
    const auto again = dir / "again.safetensors";
    CHECK(export_({"--format=safetensors", out, again}).status == 0);
    const auto round = tempo::read_safetensors(again);
    REQUIRE(round.size() == tensors.size());
    for (size_t k = 0; k < round.size(); ++k) CHECK(bit_equal(round[k].second, tensors[k].second));
    CHECK(export_({out, dir / "default.safetensors"}).status == 0);
  }

  TEST_CASE("export takes a bare model state_dict from Python") {
    if (tempo::testing::skip_without_python_torch()) return;
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "model.pt";
    const auto script =
        "import torch, sys; torch.manual_seed(0); m = torch.nn.Sequential(torch.nn.Linear(4, 3), "
        "torch.nn.BatchNorm1d(3)); torch.save(m.state_dict(), sys.argv[1])";
    REQUIRE(std::system((tempo::testing::kPython + " -c '" + script + "' " + checkpoint).c_str()) == 0);
    const auto out = dir / "model.safetensors";
    const auto r = export_({checkpoint, "--format", "safetensors", out});
    CHECK(r.status == 0);
    CHECK(r.out == "exported 7 tensors (116 bytes) to " + out + "\n");
    const auto tensors = tempo::read_safetensors(out);
    const auto original = tempo::read_checkpoint(checkpoint).toGenericDict();
    REQUIRE(tensors.size() == 7);
    CHECK(tensors.front().first == "0.weight");
    CHECK(bit_equal(tensors.front().second, original.at("0.weight").toTensor()));
    CHECK(tensors.back().first == "1.num_batches_tracked");
  }

  TEST_CASE("export rejects unknown formats, files without weights and bad usage") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "ckpt.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), checkpoint);
    const auto out = dir / "out.onnx";

    const auto bad_format = export_({checkpoint, "--format", "onnx", out});
    CHECK(bad_format.status == 2);
    CHECK(bad_format.err == "tempo export: unsupported format 'onnx'; supported formats: safetensors, torchscript\n");
    CHECK_FALSE(std::filesystem::exists(out));

    // A checkpoint whose state has no model.
    auto tree = tempo::testing::checkpoint_tree();
    CHECK(tree.toGenericDict().at("state").toGenericDict().erase("model") == 1);
    const auto no_model = dir / "no_model.pt";
    tempo::write_checkpoint(tree, no_model);
    const auto r = export_({no_model, dir / "x.safetensors"});
    CHECK(r.status == 2);
    CHECK(r.err == "tempo export: '" + no_model + "' has no state/model, so there are no weights to export\n");

    // An optimizer state_dict is not a model state_dict.
    auto opt = tempo::new_tree_dict();
    opt.insert("state", tempo::new_int_key_dict());
    opt.insert("param_groups", c10::impl::GenericList(c10::AnyType::get()));
    const auto optimizer = dir / "optimizer.pt";
    tempo::write_checkpoint(opt, optimizer);
    const auto o = export_({optimizer, dir / "x.safetensors"});
    CHECK(o.status == 2);
    CHECK(o.err.find("entry 'state' is a dict; expected a tempo checkpoint") != std::string::npos);

    // Missing and damaged files name the file on one line.
    const auto text = dir / "notes.txt";
    tempo::testing::write_text(text, "not a checkpoint\n");
    for (const auto& path : {dir / "missing.pt", text}) {
      const auto e = export_({path, dir / "x.safetensors"});
      CHECK(e.status == 2);
      CHECK(e.err.rfind("tempo export: ", 0) == 0);
      CHECK(e.err.find(path) != std::string::npos);
      CHECK(std::count(e.err.begin(), e.err.end(), '\n') == 1);
    }
    CHECK_FALSE(std::filesystem::exists(dir / "x.safetensors"));

    const auto help = export_({"--help"});
    CHECK(help.status == 0);
    CHECK(help.out.rfind("usage: tempo export CHECKPOINT [--format ", 0) == 0);
    CHECK(help.out.find("[--max-shard-size SIZE] [--force] OUT\n") != std::string::npos);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {checkpoint}, {checkpoint, "--format"}, {checkpoint, out, "--bogus"}, {checkpoint, out, "extra"}}) {
      const auto u = export_(args);
      CHECK(u.status == 2);
      CHECK(u.err.find("usage: tempo export") != std::string::npos);
    }
  }

  TEST_CASE("export replaces only a safetensors file: a checkpoint needs --force; links, devices and IN itself never") {
    tempo::testing::TempDir dir;
    const auto checkpoint = dir / "run.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), checkpoint);
    const auto before = tempo::testing::read_text(checkpoint);
    const auto weights = dir / "w.safetensors";
    REQUIRE(export_({checkpoint, weights}).status == 0);

    // The arguments swapped: the training checkpoint stays as it was.
    const auto swapped = export_({weights, checkpoint});
    CHECK(swapped.status == 2);
    CHECK(swapped.err == "tempo export: OUT '" + checkpoint +
                             "' exists and is not a safetensors file (a training checkpoint?); pass --force to "
                             "replace it\n");
    CHECK(tempo::testing::read_text(checkpoint) == before);
    // IN == OUT, even with --force.
    const auto same = export_({checkpoint, checkpoint, "--force"});
    CHECK(same.status == 2);
    CHECK(same.err == "tempo export: OUT '" + checkpoint + "' is CHECKPOINT itself; choose another name\n");
    CHECK(tempo::testing::read_text(checkpoint) == before);
    // A link to it, a FIFO, a device: refused with or without --force, left as they are.
    const auto link = dir / "link.safetensors";
    std::filesystem::create_symlink(checkpoint, link);
    const auto fifo = dir / "fifo.safetensors";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const auto& target : {link, fifo, std::string("/dev/null")}) {
      for (const bool force : {false, true}) {
        CAPTURE(target);
        auto args = std::vector<std::string>{checkpoint, target};
        if (force) args.push_back("--force");
        const auto r = export_(args);
        CHECK(r.status == 2);
        CHECK(r.err.rfind("tempo export: OUT '" + target + "' ", 0) == 0);
      }
    }
    CHECK(std::filesystem::is_symlink(link));
    CHECK(std::filesystem::is_fifo(fifo));
    CHECK(tempo::testing::read_text(checkpoint) == before);

    // A safetensors file is replaced (atomically), and with --force a checkpoint too.
    const auto again = export_({checkpoint, weights});
    CHECK(again.status == 0);
    const auto copy = dir / "copy.pt";
    std::filesystem::copy_file(checkpoint, copy);
    CHECK(export_({weights, copy, "--force"}).status == 0);
    CHECK(tempo::starts_as_safetensors(copy));
  }
}
