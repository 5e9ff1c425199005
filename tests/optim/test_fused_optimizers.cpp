// The fused optimizers (optim/fused_sgd.h, optim/fused_adam.h) against torch::optim.
//
// Tolerance: none. Each element goes through ATen's own float operations in ATen's order, with
// its rounding of multiply-adds (optim/fused_kernels.h), so parameters and state must come out
// bit-identical; the comparison counts units in the last place (ULP) and requires 0. A change
// to the arithmetic that PyTorch would not make (another order, a multiply for a divide, a missed
// fused multiply-add) moves results by at least one ULP somewhere in 20 steps over ~1,200
// elements, and fails here; the sanity check below shows that one ULP is seen.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "configs/config_test_support.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/optim/fused_kernels.h"
#include "tempo/optim/fused_sgd.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/optimizer_state.h"
#include "tempo/state/torch_compat.h"
#include "tempo/state/tree.h"
#include "support/fixtures.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace tempo;
using namespace tempo::testing;
namespace optim = torch::optim;

namespace {

using Groups = std::vector<optim::OptimizerParamGroup>;
using Factory = std::function<std::shared_ptr<optim::Optimizer>(Groups)>;

// Odd sizes, so vector tails run; an empty and a one-element parameter; two groups.
const std::vector<std::vector<int64_t>> kShapes = {{7}, {1000}, {3, 33}, {1}, {0}, {17, 5}};

std::vector<at::Tensor> make_params(uint64_t seed = 1) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<at::Tensor> params;
  for (const auto& shape : kShapes) params.push_back(torch::randn(shape, gen).requires_grad_(true));
  return params;
}

std::vector<at::Tensor> clone_params(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// The first three parameters in group 0 (the optimizer's defaults), the rest in group 1 with
// `options` (its own lr and more).
template <typename Options>
Groups two_groups(const std::vector<at::Tensor>& params, const Options& options) {
  Groups groups;
  groups.emplace_back(std::vector<at::Tensor>(params.begin(), params.begin() + 3));
  groups.emplace_back(std::vector<at::Tensor>(params.begin() + 3, params.end()), std::make_unique<Options>(options));
  return groups;
}

struct Case {
  std::string name;
  Factory plain;
  Factory fused;
  std::function<Groups(const std::vector<at::Tensor>&)> groups;
};

template <typename Plain, typename Fused, typename Options>
Case make_case(const std::string& name, const Options& defaults, const Options& second) {
  return Case{
      name,
      [=](Groups g) -> std::shared_ptr<optim::Optimizer> { return std::make_shared<Plain>(std::move(g), defaults); },
      [=](Groups g) -> std::shared_ptr<optim::Optimizer> { return std::make_shared<Fused>(std::move(g), defaults); },
      [=](const std::vector<at::Tensor>& p) { return two_groups<Options>(p, second); }};
}

std::vector<Case> cases() {
  using S = optim::SGDOptions;
  using A = optim::AdamOptions;
  using W = optim::AdamWOptions;
  const auto sgd = make_case<optim::SGD, FusedSGD, S>;
  const auto adam = make_case<optim::Adam, FusedAdam, A>;
  const auto adamw = make_case<optim::AdamW, FusedAdamW, W>;
  return {
      sgd("SGD", S(0.1), S(0.05)),
      sgd("SGD momentum", S(0.1).momentum(0.9), S(0.05).momentum(0.5)),
      sgd("SGD momentum dampening", S(0.1).momentum(0.9).dampening(0.3), S(0.05).momentum(0.8).dampening(0.1)),
      sgd("SGD nesterov", S(0.1).momentum(0.9).nesterov(true), S(0.05).momentum(0.7).nesterov(true)),
      sgd("SGD weight decay", S(0.1).momentum(0.9).weight_decay(0.01), S(0.05).weight_decay(0.1)),
      adam("Adam", A(1e-2), A(3e-3).betas({0.8, 0.95}).eps(1e-6)),
      adam("Adam weight decay", A(1e-2).weight_decay(0.1), A(3e-3).weight_decay(0.01)),
      adam("Adam amsgrad", A(1e-2).amsgrad(true), A(3e-3).amsgrad(false)),
      adamw("AdamW", W(1e-2), W(3e-3).weight_decay(0.1).betas({0.85, 0.99})),
      adamw("AdamW amsgrad", W(1e-2).amsgrad(true).weight_decay(0.05), W(3e-3).amsgrad(true)),
  };
}

// The same gradients for the same step and seed. Some parameters have none at some steps (PyTorch
// skips them, so step counts differ between parameters). Where a gradient exists it is written
// into the existing one, as backward accumulates, else assigned, as a first backward (or a user,
// or a clipper replacing it) does. At step 10 every lr halves, as a scheduler would.
void run_steps(optim::Optimizer& optimizer, const std::vector<at::Tensor>& params, int from, int to,
               uint64_t seed = 9) {
  torch::NoGradGuard no_grad;
  for (int step = from; step < to; ++step) {
    auto gen = at::detail::createCPUGenerator(seed * 1000 + static_cast<uint64_t>(step));
    for (size_t k = 0; k < params.size(); ++k) {
      auto g = torch::randn(params[k].sizes(), gen) * (1.0 + static_cast<double>(k));
      auto& grad = params[k].mutable_grad();
      if ((static_cast<size_t>(step) + k) % 7 == 3) {
        grad = at::Tensor();
      } else if (grad.defined()) {
        grad.copy_(g);
      } else {
        grad = g;
      }
    }
    if (step == 10) {
      for (auto& group : optimizer.param_groups()) group.options().set_lr(group.options().get_lr() * 0.5);
    }
    optimizer.step();
  }
}

int64_t ordered(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const int64_t magnitude = bits & 0x7fffffff;
  return bits < 0 ? -magnitude : magnitude;
}

// The largest distance in units in the last place between two float tensors of one shape.
int64_t max_ulp(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const auto x = a.detach().contiguous(), y = b.detach().contiguous();
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  int64_t worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(px[i]) || std::isnan(py[i])) {
      if (!(std::isnan(px[i]) && std::isnan(py[i]))) return std::numeric_limits<int64_t>::max();
      continue;
    }
    worst = std::max(worst, std::abs(ordered(px[i]) - ordered(py[i])));
  }
  return worst;
}

// The largest ULP distance over two state dicts (PyTorch's layout) that must have the same keys,
// and numbers equal. Also checks the layout itself is the same.
int64_t max_ulp_state(const c10::IValue& a, const c10::IValue& b, const std::string& path = "optimizer") {
  CAPTURE(path);
  if (a.isTensor()) {
    REQUIRE(b.isTensor());
    if (a.toTensor().scalar_type() != at::kFloat) {
      CHECK(torch::equal(a.toTensor(), b.toTensor()));
      return 0;
    }
    return max_ulp(a.toTensor(), b.toTensor());
  }
  if (a.isGenericDict()) {
    REQUIRE(b.isGenericDict());
    const auto da = a.toGenericDict(), db = b.toGenericDict();
    CHECK(da.size() == db.size());
    int64_t worst = 0;
    for (const auto& entry : da) {
      REQUIRE(db.contains(entry.key()));
      worst = std::max(worst, max_ulp_state(entry.value(), db.at(entry.key()), path + "/" + entry.key().tagKind() +
                                                                                   ":" + c10::str(entry.key())));
    }
    return worst;
  }
  if (a.isList() || a.isTuple()) {
    const auto la = a.isList() ? a.toListRef().vec() : a.toTupleRef().elements().vec();
    const auto lb = b.isList() ? b.toListRef().vec() : b.toTupleRef().elements().vec();
    REQUIRE(la.size() == lb.size());
    int64_t worst = 0;
    for (size_t i = 0; i < la.size(); ++i) worst = std::max(worst, max_ulp_state(la[i], lb[i], path + "/" + std::to_string(i)));
    return worst;
  }
  CHECK(c10::str(a) == c10::str(b));
  return 0;
}

int64_t max_ulp_params(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  int64_t worst = 0;
  for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, max_ulp(a[k], b[k]));
  return worst;
}

const FusedOptimizer& fused_of(const optim::Optimizer& optimizer) {
  const auto* fused = dynamic_cast<const FusedOptimizer*>(&optimizer);
  REQUIRE(fused != nullptr);
  return *fused;
}

// A checkpoint file round trip, as a real save and resume (memory-mapped read included).
c10::IValue through_file(const c10::IValue& tree, const TempDir& dir) {
  const std::string path = dir / "optimizer.pt";
  write_checkpoint(tree, path);
  return read_checkpoint(path);
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("the ULP comparison sees a one-ULP difference") {
    auto a = torch::randn({100});
    auto b = a.clone();
    b[57] = std::nextafter(b[57].item<float>(), 10.0f);
    CHECK(max_ulp(a, a.clone()) == 0);
    CHECK(max_ulp(a, b) == 1);
  }

  TEST_CASE("fused SGD, Adam and AdamW give torch::optim's parameters and state bit for bit") {
    MESSAGE("fused kernels: " << std::string(fused::kernel_name()));
    for (const auto& c : cases()) {
      CAPTURE(c.name);
      auto plain_params = make_params();
      auto fused_params = clone_params(plain_params);
      auto plain = c.plain(c.groups(plain_params));
      auto fused = c.fused(c.groups(fused_params));
      REQUIRE(fused_of(*fused).fused());
      run_steps(*plain, plain_params, 0, 20);
      run_steps(*fused, fused_params, 0, 20);
      CHECK(fused_of(*fused).fused());
      CHECK(max_ulp_params(plain_params, fused_params) == 0);
      CHECK(max_ulp_state(optimizer_state_dict(*plain), optimizer_state_dict(*fused)) == 0);
      CHECK(optimizer_type_name(*fused) == optimizer_type_name(*plain));
      // It did step: the parameters moved.
      CHECK(max_ulp_params(plain_params, make_params()) > 0);
    }
  }

  TEST_CASE("state dicts move between plain and fused optimizers through a checkpoint file, stepping on identically") {
    TempDir dir;
    for (const auto& c : cases()) {
      CAPTURE(c.name);
      for (const bool plain_first : {true, false}) {
        CAPTURE(plain_first);
        // Reference: the plain optimizer, 20 steps straight.
        auto reference_params = make_params();
        auto reference = c.plain(c.groups(reference_params));
        run_steps(*reference, reference_params, 0, 20);

        // 10 steps with one kind, saved; a fresh optimizer of the other kind over fresh parameters
        // loads the checkpoint and the weights and takes the last 10 steps.
        auto first_params = make_params();
        auto first = (plain_first ? c.plain : c.fused)(c.groups(first_params));
        run_steps(*first, first_params, 0, 10);
        const auto tree = through_file(optimizer_state_dict(*first), dir);

        auto second_params = make_params(77);
        {
          torch::NoGradGuard no_grad;
          for (size_t k = 0; k < second_params.size(); ++k) second_params[k].copy_(first_params[k]);
        }
        auto second = (plain_first ? c.fused : c.plain)(c.groups(second_params));
        load_optimizer_state_dict(*second, tree, "state/optimizers/x");
        run_steps(*second, second_params, 10, 20);
        CHECK(max_ulp_params(reference_params, second_params) == 0);
        CHECK(max_ulp_state(optimizer_state_dict(*reference), optimizer_state_dict(*second)) == 0);
      }
    }
  }

  TEST_CASE("a loaded state is copied into the flat buffers once; the fused state dict holds the buffers' tensors") {
    // run_steps takes parameter k's gradient away at steps s with (s + k) % 7 == 3 and gives it a
    // new one at the next step: from step 3 on, at most one new gradient per step.
    auto params = make_params();
    FusedAdam adam(params, optim::AdamOptions(1e-2));
    run_steps(adam, params, 0, 3);
    load_optimizer_state_dict(adam, optimizer_state_dict(adam), "state/optimizers/Adam");
    const auto loaded = adam.flat().copies();
    run_steps(adam, params, 3, 4);
    // Parameters 1-5 step: both moments of each copied in; parameter 1's new gradient too.
    CHECK(adam.flat().copies() - loaded == 11);
    run_steps(adam, params, 4, 5);
    // Parameter 0 is back: its gradient and its two moments.
    CHECK(adam.flat().copies() - loaded == 14);
    run_steps(adam, params, 5, 6);
    CHECK(adam.flat().copies() - loaded == 14);
    // The state's tensors are the flat buffers': one allocation per kind of state.
    const auto state = optimizer_state_dict(adam).toGenericDict().at("state").toGenericDict();
    const auto storage_of = [&](int64_t index, const char* key) {
      return state.at(index).toGenericDict().at(key).toTensor().storage().unsafeGetStorageImpl();
    };
    CHECK(storage_of(0, "exp_avg") == storage_of(1, "exp_avg"));
    CHECK(storage_of(0, "exp_avg_sq") == storage_of(2, "exp_avg_sq"));
    CHECK(storage_of(0, "exp_avg") != storage_of(0, "exp_avg_sq"));
  }

  TEST_CASE("after the first step, backward accumulates into the flat gradients and zero_grad zeroes them in place") {
    torch::manual_seed(3);
    auto model = std::make_shared<TinyNet>(8, 0.0);
    FusedSGD sgd(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    const auto x = torch::randn({16, 8});
    const auto y = torch::randint(0, 2, {16});
    const auto train_step = [&] {
      zero_grad_in_place(sgd);
      torch::nn::functional::cross_entropy(model->forward(x), y).backward();
      sgd.step();
    };
    train_step();
    const auto params = model->parameters();
    CHECK(sgd.flat().copies() == static_cast<int64_t>(params.size()));  // the first backward's gradients
    std::vector<const void*> grads;
    for (const auto& p : params) grads.push_back(p.grad().data_ptr());
    for (int i = 0; i < 5; ++i) train_step();
    CHECK(sgd.flat().copies() == static_cast<int64_t>(params.size()));
    for (size_t k = 0; k < params.size(); ++k) CHECK(params[k].grad().data_ptr() == grads[k]);
    // All parameters and gradients sit in one allocation each, parameters in model order.
    for (const auto& p : params) {
      CHECK(p.storage().unsafeGetStorageImpl() == params[0].storage().unsafeGetStorageImpl());
      CHECK(p.grad().storage().unsafeGetStorageImpl() == params[0].grad().storage().unsafeGetStorageImpl());
    }
    for (size_t k = 1; k < params.size(); ++k) CHECK(params[k].storage_offset() > params[k - 1].storage_offset());
    zero_grad_in_place(sgd);
    for (size_t k = 0; k < params.size(); ++k) {
      CHECK(params[k].grad().data_ptr() == grads[k]);
      CHECK(params[k].grad().abs().max().item<float>() == 0.0f);
    }
  }

  TEST_CASE("parameters that cannot be flattened take the plain step, with the reason") {
    // float64
    {
      auto params = make_params();
      std::vector<at::Tensor> doubles;
      for (const auto& p : params) doubles.push_back(p.detach().to(at::kDouble).requires_grad_(true));
      auto plain_params = clone_params(doubles);
      FusedAdam fused(doubles, optim::AdamOptions(1e-2));
      optim::Adam plain(plain_params, optim::AdamOptions(1e-2));
      CHECK(!fused.fused());
      CHECK(fused.fallback_reason() == "a parameter of type Double");
      run_steps(fused, doubles, 0, 5);
      run_steps(plain, plain_params, 0, 5);
      for (size_t k = 0; k < doubles.size(); ++k) CHECK(torch::equal(doubles[k], plain_params[k]));
    }
    // Tied: two parameters over one storage (flattening would untie them).
    {
      auto base = torch::randn({20});
      auto a = torch::empty({0}).set_(base.storage(), 0, {10}, {1}).requires_grad_(true);
      auto b = torch::empty({0}).set_(base.storage(), 10, {10}, {1}).requires_grad_(true);
      FusedSGD fused({a, b}, optim::SGDOptions(0.1));
      CHECK(fused.fallback_reason() == "a parameter shares its memory with another tensor");
      a.mutable_grad() = torch::ones({10});
      fused.step();
      CHECK(a.storage().unsafeGetStorageImpl() == base.storage().unsafeGetStorageImpl());
      CHECK(base[0].item<float>() != 0.0f);
    }
    // The same parameter twice.
    {
      auto p = torch::randn({4}).requires_grad_(true);
      FusedSGD fused({p, p}, optim::SGDOptions(0.1));
      CHECK(fused.fallback_reason() == "a parameter is listed twice");
    }
  }

  TEST_CASE("the buffers are rebuilt when a parameter group is added or a parameter is moved") {
    auto plain_params = make_params();
    auto fused_params = clone_params(plain_params);
    optim::Adam plain(std::vector<at::Tensor>(plain_params.begin(), plain_params.begin() + 4), optim::AdamOptions(1e-2));
    FusedAdam fused(std::vector<at::Tensor>(fused_params.begin(), fused_params.begin() + 4), optim::AdamOptions(1e-2));
    run_steps(plain, std::vector<at::Tensor>(plain_params.begin(), plain_params.begin() + 4), 0, 4);
    run_steps(fused, std::vector<at::Tensor>(fused_params.begin(), fused_params.begin() + 4), 0, 4);
    plain.add_param_group(optim::OptimizerParamGroup({plain_params[4], plain_params[5]}));
    fused.add_param_group(optim::OptimizerParamGroup({fused_params[4], fused_params[5]}));
    CHECK(fused.fused());
    run_steps(plain, plain_params, 4, 8);
    run_steps(fused, fused_params, 4, 8);
    CHECK(fused_params[5].storage().unsafeGetStorageImpl() == fused_params[0].storage().unsafeGetStorageImpl());
    // Moved out of the buffer, as Module::to() moves a parameter (set_data).
    {
      torch::NoGradGuard no_grad;
      plain_params[1].set_data(plain_params[1].detach().clone());
      fused_params[1].set_data(fused_params[1].detach().clone());
    }
    run_steps(plain, plain_params, 8, 12);
    run_steps(fused, fused_params, 8, 12);
    CHECK(fused_params[1].storage().unsafeGetStorageImpl() == fused_params[0].storage().unsafeGetStorageImpl());
    CHECK(max_ulp_params(plain_params, fused_params) == 0);
    CHECK(max_ulp_state(optimizer_state_dict(plain), optimizer_state_dict(fused)) == 0);
  }

  TEST_CASE("a fused-Adam checkpoint resumes with plain Adam, and the reverse, as the uninterrupted plain run") {
    auto data = blobs(24);  // 6 batches per epoch
    const auto run = [&](bool fused, const std::string& duration, const std::function<void(TrainerOptions&)>& configure) {
      torch::manual_seed(7);
      Run r;
      r.model = std::make_shared<TinyNet>();
      const auto adam = optim::AdamOptions(1e-2).weight_decay(1e-3);
      r.optimizer = fused ? std::make_shared<FusedAdam>(r.model->parameters(), adam)
                          : std::make_shared<optim::Adam>(r.model->parameters(), adam);
      auto options = TrainerOptions()
                         .model(r.model)
                         .train_dataloader(loader(data, 4))
                         .optimizers({r.optimizer})
                         .max_duration(duration)
                         .seed(42)
                         .run_name("fused")
                         .clipping_type(ClippingType::NORM)  // gradients changed in place after backward
                         .clipping_threshold(0.5);
      if (configure) configure(options);
      r.trainer = std::make_unique<Trainer>(options);
      return r;
    };
    auto straight = run(false, "3ep", {});
    straight.trainer->fit();
    for (const bool fused_first : {true, false}) {
      CAPTURE(fused_first);
      TempDir dir;
      auto first = run(fused_first, "1ep", [&](TrainerOptions& o) { o.save_folder(dir.path()); });
      first.trainer->fit();
      if (fused_first) {
        // The gradients were copied into the flat buffer once, at the first step, never again.
        CHECK(fused_of(*first.optimizer).flat().copies() == static_cast<int64_t>(first.model->parameters().size()));
      }
      auto second = run(!fused_first, "3ep", [&](TrainerOptions& o) { o.load_path(dir / "ep1-ba6-rank0.pt"); });
      second.trainer->fit();
      CHECK(bit_equal(weights(*straight.model), weights(*second.model)));
      CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*second.optimizer)));
    }
  }

  TEST_CASE("Python's torch.optim state dicts load into the fused optimizers and theirs into Python's, bit-exactly") {
    if (tempo::testing::skip_without_python_torch()) return;
    TempDir dir;
    const auto made_by_python = run_python_script("fused_optimizer_interop.py", "make " + dir.path(), dir / "make.log");
    INFO(made_by_python.second);
    REQUIRE(made_by_python.first == 0);
    for (const std::string kind : {"sgd", "adam", "adamw"}) {
      CAPTURE(kind);
      const auto made = read_checkpoint(dir / (kind + "_python.pt")).toGenericDict();
      const auto tensors = [&](const char* key) {
        std::vector<at::Tensor> out;
        for (const auto& t : made.at(key).toListRef()) out.push_back(t.toTensor().clone().requires_grad_(true));
        return out;
      };
      const auto grads = made.at("grads").toListRef();
      const auto build = [&](const std::vector<at::Tensor>& p) -> std::shared_ptr<optim::Optimizer> {
        Groups groups;
        groups.emplace_back(std::vector<at::Tensor>{p[0], p[1]});
        if (kind == "sgd") {
          groups.emplace_back(std::vector<at::Tensor>{p[2]},
                              std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.05).momentum(0.5).weight_decay(0.1).nesterov(true)));
          return std::make_shared<FusedSGD>(std::move(groups), optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
        }
        if (kind == "adam") {
          groups.emplace_back(std::vector<at::Tensor>{p[2]},
                              std::make_unique<optim::AdamOptions>(optim::AdamOptions(3e-3).weight_decay(0.1).amsgrad(true)));
          return std::make_shared<FusedAdam>(std::move(groups), optim::AdamOptions(1e-2).amsgrad(true));
        }
        groups.emplace_back(std::vector<at::Tensor>{p[2]},
                            std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(3e-3).weight_decay(0.1)));
        return std::make_shared<FusedAdamW>(std::move(groups), optim::AdamWOptions(1e-2));
      };
      const auto apply = [&](optim::Optimizer& opt, const std::vector<at::Tensor>& p, int from, int to) {
        for (int step = from; step < to; ++step) {
          const auto g = grads[static_cast<size_t>(step)].toListRef();
          for (size_t k = 0; k < p.size(); ++k) p[k].mutable_grad() = g[k].toTensor().clone();
          opt.step();
        }
      };
      // Python's state after 10 steps, continued here: Python's 20-step parameters.
      auto params = tensors("half");
      auto fused = build(params);
      load_optimizer_state_dict(*fused, made.at("optimizer"), "optimizer");
      apply(*fused, params, 10, 20);
      const auto full = tensors("full");
      // Python's single-tensor Adam and LibTorch's are the same float operations in 1.13; from 2.x on
      // Python's takes exp_avg.lerp_(grad, 1 - beta1) where LibTorch keeps mul_ and add_, so the two
      // part by rounding (tempo's fused optimizers follow LibTorch's, bit for bit, in the test above).
      const int python_major = WEXITSTATUS(std::system(
          (kPython + " -c 'import sys, torch; sys.exit(int(torch.__version__.split(\".\")[0]))'").c_str()));
      const int64_t allowed = kind == "sgd" || (kTorchMajorVersion < 2 && python_major < 2) ? 0 : 1 << 12;
      for (size_t k = 0; k < params.size(); ++k) CHECK(max_ulp(params[k], full[k]) <= allowed);

      // 10 steps here from Python's start, handed to Python for the last 10.
      auto mine = tensors("init");
      auto mine_opt = build(mine);
      apply(*mine_opt, mine, 0, 10);
      auto tree = new_tree_dict();
      c10::impl::GenericList saved(c10::AnyType::get());
      for (const auto& p : mine) saved.push_back(p.detach());
      tree.insert("params", saved);
      tree.insert("optimizer", optimizer_state_dict(*mine_opt));
      write_checkpoint(tree, dir / (kind + "_tempo.pt"));
    }
    const auto checked = run_python_script("fused_optimizer_interop.py", "check " + dir.path(), dir / "check.log");
    INFO(checked.second);
    CHECK(checked.first == 0);
  }
}

TEST_SUITE("configs") {
  TEST_CASE("sgd, adam and adamw take fused: true (the default) for the fused optimizers, false for torch::optim's") {
    auto r = builtin_registry();
    const auto first_optimizer = [&](const std::string& optimizer) {
      auto text = tiny_config();
      text.replace(text.find("  adam: {lr: 1.0e-2}\n"), std::string("  adam: {lr: 1.0e-2}\n").size(), optimizer);
      return config::RunConfig::parse(text, "run.yaml", {}, r).build(r).optimizers().at(0);
    };
    CHECK(dynamic_cast<FusedAdam*>(first_optimizer("  adam: {lr: 1.0e-2}\n").get()));
    CHECK(dynamic_cast<FusedAdam*>(first_optimizer("  adam: {fused: true}\n").get()));
    const auto plain = first_optimizer("  adam: {fused: false}\n");
    CHECK(dynamic_cast<optim::Adam*>(plain.get()));
    CHECK(!dynamic_cast<FusedOptimizer*>(plain.get()));
    CHECK(dynamic_cast<FusedAdamW*>(first_optimizer("  adamw: {}\n").get()));
    CHECK(!dynamic_cast<FusedOptimizer*>(first_optimizer("  adamw: {fused: false}\n").get()));
    CHECK(dynamic_cast<FusedSGD*>(first_optimizer("  sgd: {lr: 0.1, momentum: 0.9}\n").get()));
    CHECK(!dynamic_cast<FusedOptimizer*>(first_optimizer("  sgd: {fused: false}\n").get()));
    auto bad = tiny_config();
    bad.replace(bad.find("{lr: 1.0e-2}"), std::string("{lr: 1.0e-2}").size(), "{fused: sometimes}");
    CHECK(config_error(bad).find("fused") != std::string::npos);
  }
}
