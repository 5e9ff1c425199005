// TorchScriptModel (models/torchscript_model.h): a module written in Python, trained by tempo.
// The modules come from tests/python/torchscript_modules.py (the venv's torch), so these tests
// skip without Python, except the errors that need no module.
#include <doctest/doctest.h>

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/cli/export.h"
#include "tempo/errors/error.h"
#include "tempo/models/torchscript_model.h"
#include "tempo/serialization/weights_file.h"
#include "tempo/state/model_state.h"
#include "cli/cli_support.h"
#include "support/fixtures.h"
#include "support/python.h"
#include "support/temp_dir.h"
#include "support/torchscript_modules.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

std::string modules() { return torchscript_modules(); }

std::string error_of(const TorchScriptModelOptions& options) {
  try {
    TorchScriptModel model(options);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::vector<std::string> keys(const torch::OrderedDict<std::string, at::Tensor>& dict) { return dict.keys(); }

std::vector<std::string> json_strings(const std::string& text, const std::string& key) {
  // nested.json is {"parameters": [...], "buffers": [...], "state_dict": [...]}; a small scan
  // suffices for lists of plain names.
  std::vector<std::string> out;
  auto start = text.find("\"" + key + "\": [");
  REQUIRE(start != std::string::npos);
  start = text.find('[', start) + 1;
  const auto end = text.find(']', start);
  for (auto i = text.find('"', start); i < end; i = text.find('"', i + 1)) {
    const auto close = text.find('"', i + 1);
    out.push_back(text.substr(i + 1, close - i - 1));
    i = close;
  }
  return out;
}

std::vector<at::Tensor> all_tensors(const torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.value().detach().clone());
  for (const auto& b : m.named_buffers()) out.push_back(b.value().clone());
  return out;
}

// A trainer over blobs(48) with Adam; checkpoints every 3 batches into `folder` when it is set.
struct ScriptRun {
  std::shared_ptr<TorchScriptModel> model;
  std::shared_ptr<LossRecorder> losses = std::make_shared<LossRecorder>();
  std::unique_ptr<Trainer> trainer;
};

ScriptRun script_run(const std::string& module, const std::string& max_duration, const std::string& folder,
                     const std::string& load_path = "", uint64_t seed = 42) {
  ScriptRun run;
  run.model = std::make_shared<TorchScriptModel>(TorchScriptModelOptions(module).loss("cross_entropy"));
  auto adam = std::make_shared<torch::optim::Adam>(run.model->parameters(), torch::optim::AdamOptions(1e-2));
  auto options = TrainerOptions()
                     .model(run.model)
                     .train_dataloader(loader(blobs(48), 4))
                     .optimizers({adam})
                     .callbacks({run.losses})
                     .max_duration(max_duration)
                     .seed(seed)
                     .run_name("ts");
  if (!folder.empty()) options.save_folder(folder).save_interval("3ba");
  if (!load_path.empty()) options.load_path(load_path);
  run.trainer = std::make_unique<Trainer>(options);
  return run;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("torchscript: a missing file, a file that is not a TorchScript archive, a bad loss name") {
    TempDir dir;
    CHECK(error_of(TorchScriptModelOptions(dir / "none.pt").loss("mse")) ==
          "torchscript: module file '" + (dir / "none.pt") + "' does not exist");
    std::ofstream(dir / "text.pt") << "not a zip at all";
    const auto text = error_of(TorchScriptModelOptions(dir / "text.pt").loss("mse"));
    CHECK(text.rfind("torchscript: '" + (dir / "text.pt") + "' is not a TorchScript archive (", 0) == 0);
    CHECK(error_of(TorchScriptModelOptions(dir / "text.pt").loss("l1")) ==
          "torchscript: loss 'l1' is not one of cross_entropy, mse, bce_with_logits, nll (or empty for the module's "
          "loss method)");
    CHECK(error_of(TorchScriptModelOptions("")) == "torchscript: path is empty; name the module file (torch.jit.save)");
  }

  TEST_CASE("torchscript: parameters and buffers under Python's state_dict() names, sharing the script's tensors") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    TorchScriptModel model(TorchScriptModelOptions(folder + "/nested.pt").loss("cross_entropy"));
    std::ifstream in(folder + "/nested.json");
    const std::string json((std::istreambuf_iterator<char>(in)), {});
    CHECK(keys(model.named_parameters()) == json_strings(json, "parameters"));
    CHECK(keys(model.named_buffers()) == json_strings(json, "buffers"));
    std::set<std::string> state_keys;
    for (const auto& entry : model_state_dict(model).toGenericDict()) state_keys.insert(entry.key().toStringRef());
    const auto python = json_strings(json, "state_dict");
    CHECK(state_keys == std::set<std::string>(python.begin(), python.end()));
    // The same tensors, not copies.
    std::map<std::string, at::Tensor> script;
    for (const auto& [name, tensor] : torchscript_state(model.script_module())) script[name] = tensor;
    for (const auto& p : model.named_parameters()) {
      CAPTURE(p.key());
      CHECK(p.value().unsafeGetTensorImpl() == script.at(p.key()).unsafeGetTensorImpl());
      CHECK(p.value().requires_grad());
    }
    for (const auto& b : model.named_buffers()) CHECK(b.value().unsafeGetTensorImpl() == script.at(b.key()).unsafeGetTensorImpl());

    // An optimizer step on tempo's parameters changes what the script computes; train mode
    // updates the batch norm's running statistics, eval mode reaches the script module.
    torch::manual_seed(1);
    const auto x = torch::randn({6, 8});
    const auto y = torch::randint(0, 2, {6}, torch::kLong);
    model.eval();
    CHECK(!model.script_module().is_training());
    for (const auto& sub : model.script_module().named_modules()) CHECK(!sub.value.is_training());
    auto script_module = model.script_module();  // a handle on the same module
    const auto before = script_module.forward({x}).toTensor().clone();
    model.train();
    CHECK(model.script_module().is_training());
    torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1));
    const auto loss = model.loss(model.forward(x), Batch{x, y});
    loss.backward();
    sgd.step();
    CHECK(model.named_buffers()["block.1.num_batches_tracked"].item<int64_t>() == 1);
    model.eval();
    const auto after = script_module.forward({x}).toTensor();
    CHECK(!torch::equal(before, after));
    CHECK(torch::equal(after, model.forward(x)));
  }

  TEST_CASE("torchscript: a weight tied into two submodules is one parameter, under both state_dict() names") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    TorchScriptModel model(TorchScriptModelOptions(folder + "/tied.pt").loss("mse"));
    std::ifstream in(folder + "/tied.json");
    const std::string json((std::istreambuf_iterator<char>(in)), {});
    CHECK(keys(model.named_parameters()) == json_strings(json, "parameters"));  // ["embed.weight"]
    CHECK(model.parameters().size() == 1);
    std::set<std::string> state_keys;
    for (const auto& entry : model_state_dict(model).toGenericDict()) state_keys.insert(entry.key().toStringRef());
    const auto python = json_strings(json, "state_dict");
    CHECK(state_keys == std::set<std::string>(python.begin(), python.end()));
    // One SGD step moves the shared weight once: as plain gradient descent on the one tensor.
    torch::manual_seed(2);
    const auto x = torch::randn({4, 8});
    const auto target = torch::randn({4, 8});
    const auto before = model.named_parameters()["embed.weight"].detach().clone();
    torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1));
    model.loss(model.forward(x), Batch{x, target}).backward();
    const auto grad = model.named_parameters()["embed.weight"].grad().clone();
    sgd.step();
    const auto after = model.named_parameters()["embed.weight"];
    CHECK(torch::allclose(after, before - 0.1 * grad, 0, 1e-6));
    CHECK_FALSE(torch::allclose(after, before - 0.2 * grad, 0, 1e-6));  // stepped twice
  }

  TEST_CASE("torchscript: the module's loss method, the configured loss winning over it, and the metrics") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    TorchScriptModel own(TorchScriptModelOptions(folder + "/mlp_loss.pt"));
    CHECK(own.loss_name() == "loss");
    CHECK(own.metrics(true).empty());
    CHECK(own.metrics(false).count("LossMetric") == 1);
    TorchScriptModel configured(TorchScriptModelOptions(folder + "/mlp_loss.pt").loss("nll"));
    CHECK(configured.loss_name() == "nll");
    CHECK(configured.metrics(false).count("CrossEntropy") == 1);
    const auto x = torch::randn({4, 8});
    const auto y = torch::tensor({0, 1, 1, 0}, torch::kLong);
    own.eval();
    const auto outputs = own.forward(x);
    CHECK(torch::equal(own.loss(outputs, Batch{x, y}), torch::nn::functional::cross_entropy(outputs, y)));
    CHECK(torch::equal(configured.loss(outputs, Batch{x, y}), torch::nn::functional::nll_loss(outputs, y)));
    TorchScriptModel mse(TorchScriptModelOptions(folder + "/regress.pt").loss("mse"));
    CHECK(mse.metrics(true).count("MeanSquaredError") == 1);
    const auto regress_out = mse.forward(x);
    CHECK(torch::equal(mse.loss(regress_out, Batch{x, torch::ones({4, 1})}),
                       torch::nn::functional::mse_loss(regress_out, torch::ones({4, 1}))));
  }

  TEST_CASE("torchscript: errors name the file and what is wrong") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    const auto file = [&](const std::string& name) { return folder + "/" + name; };
    CHECK(error_of(TorchScriptModelOptions(file("weights.pt")).loss("mse")) ==
          "torchscript: '" + file("weights.pt") +
              "' is a zip archive but not a TorchScript module (it has no code/ and constants.pkl: torch.save writes "
              "weights; save a module with torch.jit.script(module).save(path))");
    CHECK(error_of(TorchScriptModelOptions(file("no_forward.pt")).loss("mse")) ==
          "torchscript: '" + file("no_forward.pt") +
              "' has no forward method; tempo calls forward(input) (script the nn.Module itself with torch.jit.script)");
    CHECK(error_of(TorchScriptModelOptions(file("mlp.pt"))) ==
          "torchscript: '" + file("mlp.pt") +
              "' has no loss(outputs, targets) method and no loss is configured: set loss to one of cross_entropy, "
              "mse, bce_with_logits, nll, or give the module a @torch.jit.export def loss(self, outputs, targets)");
    const auto x = torch::randn({4, 8});
    TorchScriptModel regress(TorchScriptModelOptions(file("regress.pt")).loss("cross_entropy"));
    const auto targets = torch::zeros({4}, torch::kLong);
    CHECK_THROWS_WITH_AS(regress.loss(regress.forward(x).flatten(), Batch{x, targets}),
                         ("torchscript: '" + file("regress.pt") +
                          "': loss cross_entropy needs floating outputs [N, C] and int64 targets [N]; the module's "
                          "forward returned [4] (Float) for targets [4] (Long)").c_str(),
                         ConfigError);
    TorchScriptModel mse(TorchScriptModelOptions(file("regress.pt")).loss("mse"));
    CHECK_THROWS_WITH_AS(mse.loss(mse.forward(x), Batch{x, targets}),
                         ("torchscript: '" + file("regress.pt") +
                          "': loss mse needs floating outputs of the targets' shape; the module's forward returned "
                          "[4, 1] (Float) for targets [4] (Long)").c_str(),
                         ConfigError);
    TorchScriptModel tuple(TorchScriptModelOptions(file("tuple.pt")).loss("cross_entropy"));
    CHECK_THROWS_WITH_AS(tuple.forward(x),
                         ("torchscript: '" + file("tuple.pt") +
                          "': forward returned a Tuple; tempo needs one tensor (the outputs the loss and metrics read)")
                             .c_str(),
                         ConfigError);
  }

  TEST_CASE("torchscript: a resumed run equals the uninterrupted one, bit for bit") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    TempDir dir;
    auto full = script_run(folder + "/mlp.pt", "2ep", dir.path());  // 12 batches an epoch, dropout 0.1
    full.trainer->fit();
    REQUIRE(std::filesystem::exists(dir / "ep1-ba15-rank0.pt"));
    auto resumed = script_run(folder + "/mlp.pt", "2ep", "", dir / "ep1-ba15-rank0.pt", 5);
    CHECK(resumed.trainer->state().timestamp.batch() == 15);
    resumed.trainer->fit();
    CHECK(bit_equal(all_tensors(*full.model), all_tensors(*resumed.model)));
    REQUIRE(resumed.losses->losses.size() == 9);
    for (const auto& [batch, loss] : resumed.losses->losses) CHECK(full.losses->losses.at(batch) == loss);
  }

  TEST_CASE("torchscript: Python -> tempo training -> Python, every tensor bit-equal, and the exported module") {
    if (skip_without_python_torch()) return;
    const auto folder = modules();
    REQUIRE(!folder.empty());
    TempDir dir;
    auto run = script_run(folder + "/mlp.pt", "6ba", dir.path());
    run.trainer->fit();
    const auto checkpoint = dir / "ep0-ba6-rank0.pt";
    REQUIRE(std::filesystem::exists(checkpoint));
    const auto metadata = open_weights_file(checkpoint).tree.toGenericDict().at("state").toGenericDict().at(
        "metadata").toGenericDict();
    CHECK(metadata.at(kTorchScriptModuleKey).toStringRef() == folder + "/mlp.pt");
    CHECK(metadata.at(kTorchScriptCrc32Key).toStringRef() == run.model->crc32());

    const auto exported = dir / "trained.pt";
    const auto r = run_command(cli::run_export, {checkpoint, "--format", "torchscript", exported});
    CHECK(r.err == "");
    CHECK(r.status == 0);
    CHECK(r.out == "exported 4 tensors (" + std::to_string((16 * 8 + 16 + 2 * 16 + 2) * 4) + " bytes) into " + folder +
                       "/mlp.pt as " + exported + "\n");
    // LibTorch reads it back with the trained weights.
    const auto reloaded = torch::jit::load(exported);
    std::map<std::string, at::Tensor> trained;
    for (const auto& p : run.model->named_parameters()) trained[p.key()] = p.value();
    for (const auto& [name, tensor] : torchscript_state(reloaded)) {
      CAPTURE(name);
      CHECK(bit_equal({tensor}, {trained.at(name)}));
    }

    const auto python_state = dir / "python_state.pt";
    const auto python =
        run_python_script("torchscript_roundtrip.py", checkpoint + " " + exported + " " + python_state, dir / "log.txt");
    CHECK_MESSAGE(python.first == 0, python.second);
    REQUIRE(std::filesystem::exists(python_state));
    const auto back = open_weights_file(python_state).tree.toGenericDict();
    CHECK(back.size() == 4);
    for (const auto& [name, tensor] : trained) {
      CAPTURE(name);
      REQUIRE(back.contains(name));
      CHECK(bit_equal({back.at(name).toTensor()}, {tensor.detach()}));
    }
  }
}
