// Interop with Python's torch (TEMPO_PYTHON: torch 2.13 from the wheel, or Debian's 1.13):
// torch.load opens tempo's checkpoints, and tempo reads torch.save's model and optimizer
// state_dicts (tests/support/python.h says when they are skipped).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "serialization_support.h"
#include "support/python.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Runs `command` with stdout and stderr captured; returns the exit status and the output.
std::pair<int, std::string> run(const std::string& command, const ScratchFolder& folder) {
  const std::string log = folder.file("python.log");
  const int rc = std::system((command + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  return {rc, std::string(std::istreambuf_iterator<char>(in), {})};
}

// The tree check_tempo_checkpoint.py expects (the constants are agreed with that script).
c10::IValue interop_tree() {
  auto model = str_dict();
  model.insert("0.weight", at::arange(6, at::kFloat).reshape({2, 3}) * 0.5);
  model.insert("0.bias", at::tensor({0.5f, -0.25f}));
  auto param_state = int_dict();
  auto s0 = str_dict();
  s0.insert("step", at::scalar_tensor(3.0, at::kFloat));
  s0.insert("exp_avg", at::full({2, 3}, 0.25));
  param_state.insert(0, s0);
  auto optimizers = adam_optimizers_tree(param_state);
  auto timestamp = str_dict();
  timestamp.insert("epoch", int64_t{2});
  timestamp.insert("batch", int64_t{70000});
  timestamp.insert("big", int64_t{1} << 40);
  timestamp.insert("neg", int64_t{-5});
  timestamp.insert("min", INT64_MIN);
  at::Tensor base = at::arange(10, at::kLong);
  auto views = str_dict();
  views.insert("base", base);
  views.insert("slice", base.slice(0, 2, 5));
  views.insert("strided", base.slice(0, 0, 10, 3));
  auto dtypes = str_dict();
  for (const auto& [name, type] :
       std::vector<std::pair<std::string, at::ScalarType>>{{"float32", at::kFloat},
                                                           {"float64", at::kDouble},
                                                           {"float16", at::kHalf},
                                                           {"bfloat16", at::kBFloat16},
                                                           {"int8", at::kChar},
                                                           {"int16", at::kShort},
                                                           {"int32", at::kInt},
                                                           {"int64", at::kLong},
                                                           {"uint8", at::kByte},
                                                           {"bool", at::kBool}})
    dtypes.insert(
        name,
        (type == at::kBool ? at::arange(5, at::kLong).remainder(2) : at::arange(5, at::kLong)).to(type));
  auto state = str_dict();
  state.insert("model", model);
  state.insert("optimizers", optimizers);
  state.insert("timestamp", timestamp);
  state.insert("run_name", std::string("tempo-\xc3\xbcn\xc3\xaf"));
  state.insert("views", views);
  state.insert("dtypes", dtypes);
  state.insert("empty", at::zeros({0, 3}));
  state.insert("scalar", at::scalar_tensor(7.5, at::kDouble));
  auto rank0 = str_dict();
  rank0.insert("seed", int64_t{42});
  rank0.insert("torch", at::arange(16, at::kByte));
  auto rng = any_list();
  rng.push_back(rank0);
  auto root = str_dict();
  root.insert("state", state);
  root.insert("rng", rng);
  return root;
}

at::Tensor tensor_at(const c10::impl::GenericDict& d, const c10::IValue& key) {
  REQUIRE(d.contains(key));
  REQUIRE(d.at(key).isTensor());
  return d.at(key).toTensor();
}

std::vector<std::string> string_keys(const c10::impl::GenericDict& d) {
  std::vector<std::string> out;
  for (const auto& e : d) out.push_back(e.key().toStringRef());
  return out;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("Python's torch.load opens a tempo checkpoint") {
    if (tempo::testing::skip_without_python_torch()) return;
    ScratchFolder folder;
    const std::string path = folder.file("interop.pt");
    const c10::IValue tree = interop_tree();
    write_checkpoint(tree, path);
    // torch 1.13's weights_only loader cannot read floats (BINFLOAT); this file has none.
    const auto state = tree.toGenericDict().at("state").toGenericDict();
    auto floatless = str_dict();
    for (const char* key : {"model", "views", "dtypes"}) floatless.insert(key, state.at(key));
    const std::string floatless_path = folder.file("floatless.pt");
    write_checkpoint(floatless, floatless_path);
    const auto [rc, output_] =
        run(kPython + " " + TEMPO_SOURCE_DIR + "/tests/python/check_tempo_checkpoint.py " + path + " " +
                floatless_path,
            folder);
    const std::string output = output_;  // INFO's lambda cannot capture a structured binding (C++17)
    INFO(output);
    CHECK(rc == 0);
  }

  TEST_CASE("tempo reads torch.save's model and optimizer state_dicts") {
    if (tempo::testing::skip_without_python_torch()) return;
    ScratchFolder folder;
    const auto [rc, output_] =
        run(kPython + " " + TEMPO_SOURCE_DIR + "/tests/python/save_state_dicts.py " + folder.path(), folder);
    const std::string output = output_;  // INFO's lambda cannot capture a structured binding (C++17)
    INFO(output);
    REQUIRE(rc == 0);

    // An OrderedDict with _metadata becomes a plain dict of the tensors.
    const auto model = read_checkpoint(folder.file("model.pt")).toGenericDict();
    CHECK(string_keys(model) == std::vector<std::string>{"0.weight", "0.bias"});
    CHECK(tensors_identical(tensor_at(model, "0.weight"), at::arange(6, at::kFloat).reshape({2, 3}) * 0.5));
    CHECK(tensors_identical(tensor_at(model, "0.bias"), at::tensor({0.5f, -0.25f})));

    const auto optimizer = read_checkpoint(folder.file("optimizer.pt")).toGenericDict();
    CHECK(string_keys(optimizer) == std::vector<std::string>{"state", "param_groups"});
    const auto state = optimizer.at("state").toGenericDict();
    CHECK(state.keyType()->kind() == c10::TypeKind::IntType);
    REQUIRE(state.size() == 2);
    for (int64_t i = 0; i < 2; ++i) {
      const auto s = state.at(i).toGenericDict();
      CHECK(string_keys(s) == std::vector<std::string>{"step", "exp_avg", "exp_avg_sq"});
      CHECK(tensors_identical(tensor_at(s, "step"), at::scalar_tensor(1.0, at::kFloat)));
      const std::vector<int64_t> shape = i == 0 ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{2};
      const at::Tensor ramp = at::arange(i == 0 ? 6 : 2, at::kFloat).reshape(shape);
      CHECK(tensors_identical(tensor_at(s, "exp_avg"), ramp * 0.5 + static_cast<double>(i)));
      CHECK(tensors_identical(tensor_at(s, "exp_avg_sq"), ramp * 0.25));
    }
    const auto groups = optimizer.at("param_groups").toListRef();
    REQUIRE(groups.size() == 1);
    const auto group = groups[0].toGenericDict();
    CHECK(group.at("lr").toDouble() == 0.5);
    const auto& betas = group.at("betas").toTupleRef().elements();
    REQUIRE(betas.size() == 2);
    CHECK(betas[0].toDouble() == 0.5);
    CHECK(betas[1].toDouble() == 0.75);
    CHECK(group.at("eps").toDouble() == 0.125);
    CHECK(group.at("weight_decay").toInt() == 0);
    CHECK(group.at("amsgrad").toBool() == false);
    CHECK(group.at("foreach").isNone());
    const auto params = group.at("params").toListRef();
    REQUIRE(params.size() == 2);
    CHECK(params[0].toInt() == 0);
    CHECK(params[1].toInt() == 1);

    // Protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE) and nn.Parameter.
    const auto p4 = read_checkpoint(folder.file("parameter_p4.pt")).toGenericDict();
    CHECK(tensors_identical(tensor_at(p4, "p"), at::arange(4, at::kFloat)));
    CHECK(!tensor_at(p4, "p").requires_grad());
    CHECK(tensors_identical(tensor_at(p4.at("model").toGenericDict(), "0.bias"), at::tensor({0.5f, -0.25f})));
  }
}
