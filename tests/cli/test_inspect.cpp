#include <doctest/doctest.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "tempo/cli/inspect.h"
#include "cli_support.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "support/python.h"
#include "support/temp_dir.h"

using tempo::cli::run_inspect;
using tempo::testing::CommandResult;

namespace {

CommandResult inspect(const std::vector<std::string>& args) { return tempo::testing::run_command(run_inspect, args); }

// Counts of '{' and '}' (and '[' and ']') outside strings match and never go negative.
bool balanced(const std::string& json) {
  int braces = 0, brackets = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    braces += c == '{' ? 1 : c == '}' ? -1 : 0;
    brackets += c == '[' ? 1 : c == ']' ? -1 : 0;
    if (braces < 0 || brackets < 0) return false;
  }
  return braces == 0 && brackets == 0 && !in_string;
}

// Runs Python's strict JSON parser (NaN tokens rejected) and `checks` on the document `d`.
int python_json_check(const tempo::testing::TempDir& dir, const std::string& json, const std::string& checks) {
  const auto json_path = dir / "out.json", script = dir / "check.py";
  tempo::testing::write_text(json_path, json);
  tempo::testing::write_text(script,
                             "import json, sys\n"
                             "def bad(c): raise ValueError('bare ' + c)\n"
                             "d = json.load(open(sys.argv[1]), parse_constant=bad)\n" +
                                 checks + "\n");
  return std::system((tempo::testing::kPython + " " + script + " " + json_path + " >&2").c_str());
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("inspect prints a tempo checkpoint's summary and tree") {
    tempo::testing::TempDir dir;
    const auto path = dir / "ep2-ba30-rank0.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), path);

    const auto r = inspect({path});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("format          tempo") != std::string::npos);
    CHECK(r.out.find("timestamp       epoch 2, batch 30, sample 480, batch_in_epoch 6") != std::string::npos);
    CHECK(r.out.find("run_name        \"r \\\"quoted\\\"\\n\"\n") != std::string::npos);
    CHECK(r.out.find("rank_zero_seed  17") != std::string::npos);
    CHECK(r.out.find("tempo_version   0.1.0") != std::string::npos);
    CHECK(r.out.find("torch_version   1.13.1") != std::string::npos);
    // 512 + 64 + 256 + 8 model, 4 * (8 + 12) optimizer, 5056 rng
    CHECK(r.out.find("tensors         13, 5.8 KiB (5960 B)") != std::string::npos);
    CHECK(r.out.find("file size") != std::string::npos);
    CHECK(r.out.find("\nstate  {7 keys, 12 tensors, 904 B}\n") != std::string::npos);
    CHECK(r.out.find("\n  model  {4 keys, 4 tensors, 840 B}\n") != std::string::npos);
    CHECK(r.out.find("\n    fc1.weight  float32 [16, 8]  512 B\n") != std::string::npos);
    CHECK(r.out.find("\n    fc2.weight  float64 [2, 16]  256 B\n") != std::string::npos);
    CHECK(r.out.find("\n        0  {2 keys, 2 tensors, 16 B}\n") != std::string::npos);
    CHECK(r.out.find("step     float32 []  4 B") != std::string::npos);
    CHECK(r.out.find("lr      0.001\n") != std::string::npos);
    CHECK(r.out.find("\n          betas   (0.9, 0.999)\n") != std::string::npos);
    CHECK(r.out.find("\n          params  [0, 1, 2, 3]\n") != std::string::npos);
    CHECK(r.out.find("scaler          None\n") != std::string::npos);
    CHECK(r.out.find("[0]  {1 key, 1 tensor, 4.9 KiB}") != std::string::npos);
    CHECK(r.out.find("torch  uint8 [5056]  4.9 KiB") != std::string::npos);
  }

  TEST_CASE("inspect elides long lists and int-keyed dicts in text mode only") {
    tempo::testing::TempDir dir;
    auto state = tempo::new_int_key_dict();
    for (int64_t i = 0; i < 25; ++i) state.insert(i, torch::zeros({2}));
    auto top = tempo::new_tree_dict();
    top.insert("state", state);
    top.insert("param_groups", c10::impl::GenericList(c10::AnyType::get()));
    const auto path = dir / "optimizer.pt";
    tempo::write_checkpoint(top, path);

    const auto text = inspect({path});
    CHECK(text.status == 0);
    CHECK(text.out.find("format          torch") != std::string::npos);
    CHECK(text.out.find("\n  19  float32 [2]  8 B\n") != std::string::npos);
    CHECK(text.out.find("\n  20  ") == std::string::npos);
    CHECK(text.out.find("\n  ... 5 more (5 tensors, 40 B)\n") != std::string::npos);
    CHECK(text.out.find("param_groups  []") != std::string::npos);

    const auto all = inspect({"--all", path});
    CHECK(all.out.find("\n  24  float32 [2]  8 B\n") != std::string::npos);
    CHECK(all.out.find("more") == std::string::npos);

    const auto json = inspect({path, "--json"});
    CHECK(json.out.find("\"24\": {\"tensor\"") != std::string::npos);
    CHECK(json.out.find("more") == std::string::npos);
  }

  TEST_CASE("inspect --json writes one JSON document") {
    tempo::testing::TempDir dir;
    const auto path = dir / "ckpt.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), path);

    const auto r = inspect({path, "--json"});
    REQUIRE(r.status == 0);
    CHECK(balanced(r.out));
    CHECK(r.out.rfind("{\n  \"file\": \"" + path + "\",\n  \"format\": \"tempo\",", 0) == 0);
    CHECK(r.out.find("\"timestamp\": {\"epoch\": 2, \"batch\": 30, \"sample\": 480, \"batch_in_epoch\": 6}") !=
          std::string::npos);
    CHECK(r.out.find("\"run_name\": \"r \\\"quoted\\\"\\n\"") != std::string::npos);
    CHECK(r.out.find("\"tensor_bytes\": 5960") != std::string::npos);
    CHECK(r.out.find("\"fc1.weight\": {\"tensor\": {\"dtype\": \"float32\", \"shape\": [16, 8], \"bytes\": 512}}") !=
          std::string::npos);
    CHECK(r.out.find("\"eps\": \"inf\"") != std::string::npos);
    CHECK(r.out.find("\"scaler\": null") != std::string::npos);

    if (!tempo::testing::python_has_torch() && std::system((tempo::testing::kPython + " -c 1").c_str()) != 0) {
      MESSAGE("no python3: JSON checked structurally only");
      return;
    }
    CHECK(
        python_json_check(dir, r.out,
                          "s = d['tree']['state']\n"
                          "assert d['format'] == 'tempo'\n"
                          "assert d['summary']['rank_zero_seed'] == 17\n"
                          "assert d['summary']['tempo_version'] == '0.1.0'\n"
                          "assert d['summary']['file_bytes'] > 5960\n"
                          "assert s['model']['fc2.bias']['tensor'] == {'dtype': 'float32', 'shape': [2], 'bytes': 8}\n"
                          "assert s['optimizers']['Adam']['state']['3']['step']['tensor']['shape'] == []\n"
                          "assert s['optimizers']['Adam']['param_groups'][0]['betas'] == [0.9, 0.999]\n"
                          "assert s['optimizers']['Adam']['param_groups'][0]['lr'] == 0.001\n"
                          "assert s['timestamp']['total_wct'] == 1.25\n"
                          "assert s['run_name'] == 'r \"quoted\"\\n'\n"
                          "assert d['tree']['rng'][0]['torch']['tensor']['bytes'] == 5056\n") == 0);
  }

  TEST_CASE("inspect --json keeps odd strings and numbers valid JSON") {
    tempo::testing::TempDir dir;
    auto tree = tempo::new_tree_dict();
    tree.insert("name", std::string("caf\xc3\xa9 \x01\x7f \xe2\x82\xac"));
    tree.insert("key\twith \"quotes\"", 1);
    auto numbers = c10::impl::GenericList(c10::FloatType::get());
    for (double d : {5e-324, -0.0, 1e300, 2.0, -std::numeric_limits<double>::infinity()}) numbers.push_back(d);
    tree.insert("numbers", numbers);
    const auto path = dir / "odd.pt";
    tempo::write_checkpoint(tree, path);

    const auto r = inspect({path, "--json"});
    REQUIRE(r.status == 0);
    CHECK(balanced(r.out));
    CHECK(r.out.find("\"name\": \"caf\xc3\xa9 \\u0001\x7f \xe2\x82\xac\"") != std::string::npos);
    CHECK(r.out.find("\"numbers\": [5e-324, -0.0, 1e+300, 2.0, \"-inf\"]") != std::string::npos);
    CHECK(r.out.find("\"key\\twith \\\"quotes\\\"\": 1") != std::string::npos);
    if (std::system((tempo::testing::kPython + " -c 1").c_str()) == 0)
      CHECK(python_json_check(dir, r.out, "assert d['tree']['numbers'][:4] == [5e-324, -0.0, 1e300, 2.0]") == 0);
    CHECK(inspect({path}).out.find("[5e-324, -0.0, 1e+300, 2.0, -inf]\n") != std::string::npos);
  }

  TEST_CASE("inspect reads a Python torch.save state_dict") {
    if (tempo::testing::skip_without_python_torch()) return;
    tempo::testing::TempDir dir;
    const auto path = dir / "model.pt";
    const auto script =
        "import torch, sys; torch.manual_seed(0); m = torch.nn.Sequential(torch.nn.Linear(4, 3), "
        "torch.nn.BatchNorm1d(3)); torch.save(m.state_dict(), sys.argv[1])";
    REQUIRE(std::system((tempo::testing::kPython + " -c '" + script + "' " + path).c_str()) == 0);

    const auto r = inspect({path});
    CHECK(r.status == 0);
    CHECK(r.out.find("format          torch") != std::string::npos);
    CHECK(r.out.find("\n0.weight               float32 [3, 4]  48 B\n") != std::string::npos);
    CHECK(r.out.find("\n1.num_batches_tracked  int64 []  8 B\n") != std::string::npos);
    CHECK(r.out.find("tensors         7, 116 B\n") != std::string::npos);
    const auto json = inspect({"--json", path});
    CHECK(json.status == 0);
    CHECK(python_json_check(dir, json.out,
                            "assert d['format'] == 'torch'\n"
                            "assert list(d['tree'])[0] == '0.weight'\n"
                            "assert d['tree']['1.running_var']['tensor']['shape'] == [3]") == 0);
  }

  TEST_CASE("inspect reads a safetensors file with its metadata") {
    tempo::testing::TempDir dir;
    const auto path = dir / "weights.safetensors";
    tempo::write_safetensors({{"b", torch::ones({3}, torch::kHalf)}, {"a", torch::zeros({2, 2}, torch::kBFloat16)}},
                             {{"format", "pt"}, {"note", "x\"y"}}, path);
    const auto r = inspect({path});
    CHECK(r.status == 0);
    CHECK(r.out.find("format          safetensors") != std::string::npos);
    CHECK(r.out.find("metadata        format: pt\n                note: \"x\\\"y\"\n") != std::string::npos);
    CHECK(r.out.find("\nb  float16 [3]  6 B\na  bfloat16 [2, 2]  8 B\n") != std::string::npos);

    // Found by content too, whatever the name.
    const auto renamed = dir / "weights.bin";
    std::filesystem::copy_file(path, renamed);
    const auto json = inspect({"--json", renamed});
    CHECK(json.status == 0);
    CHECK(balanced(json.out));
    CHECK(json.out.find("\"format\": \"safetensors\"") != std::string::npos);
    CHECK(json.out.find("\"metadata\": {\"format\": \"pt\", \"note\": \"x\\\"y\"}") != std::string::npos);
    CHECK(json.out.find("\"a\": {\"tensor\": {\"dtype\": \"bfloat16\", \"shape\": [2, 2], \"bytes\": 8}}") !=
          std::string::npos);
  }

  TEST_CASE("inspect fails cleanly on missing, foreign and damaged files") {
    tempo::testing::TempDir dir;
    const auto good = dir / "good.pt";
    tempo::write_checkpoint(tempo::testing::checkpoint_tree(), good);
    const auto bytes = tempo::testing::read_text(good);
    const auto truncated = dir / "truncated.pt";
    tempo::testing::write_text(truncated, bytes.substr(0, bytes.size() / 2));
    const auto text = dir / "notes.txt";
    tempo::testing::write_text(text, "just some text\n");
    const auto bad_safetensors = dir / "bad.safetensors";
    tempo::testing::write_text(bad_safetensors, std::string("\x10\0\0\0\0\0\0\0{\"a\": 1}        ", 24));

    for (const auto& path : {dir / "missing.pt", truncated, text, bad_safetensors, dir.path()}) {
      CAPTURE(path);
      for (const auto& args : std::vector<std::vector<std::string>>{{path}, {path, "--json"}}) {
        const auto r = inspect(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.rfind("tempo inspect: ", 0) == 0);
        CHECK(r.err.find(path) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find("Exception raised from") == std::string::npos);
      }
    }
  }

  TEST_CASE("inspect usage") {
    const auto help = inspect({"--help"});
    CHECK(help.status == 0);
    CHECK(help.out.rfind("usage: tempo inspect CHECKPOINT [--json]", 0) == 0);
    CHECK(help.err.empty());
    for (const auto& args :
         std::vector<std::vector<std::string>>{{}, {"--json"}, {"a.pt", "--bogus"}, {"a.pt", "b.pt"}}) {
      const auto r = inspect(args);
      CHECK(r.status == 2);
      CHECK(r.out.empty());
      CHECK(r.err.find("usage: tempo inspect") != std::string::npos);
    }
  }
}
