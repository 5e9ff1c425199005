#include "tempo/state/optimizer_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/optim.h>

#include <functional>
#include <memory>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/state/torch_compat.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

namespace optim = torch::optim;


at::Tensor step_tensor(int64_t step) { return torch::tensor(static_cast<float>(step)); }

// Each supported optimizer contributes how its group options and per-parameter state map onto
// PyTorch's names. The dynamic_casts decide which one applies.
struct Codec {
  const char* name;
  std::function<bool(const optim::Optimizer&)> matches;
  std::function<void(const optim::OptimizerOptions&, TreeDict&)> save_group;
  std::function<void(optim::OptimizerOptions&, const TreeDict&, const std::string&)> load_group;
  std::function<void(const optim::OptimizerParamState&, TreeDict&)> save_param;
  std::function<std::unique_ptr<optim::OptimizerParamState>(const TreeDict&, const std::string&, const at::Tensor&)>
      load_param;
};

template <typename O>
bool is(const optim::Optimizer& optimizer) {
  return dynamic_cast<const O*>(&optimizer) != nullptr;
}

c10::IValue betas(const std::tuple<double, double>& b) {
  return c10::ivalue::Tuple::create({std::get<0>(b), std::get<1>(b)});
}

std::tuple<double, double> load_betas(const TreeDict& g, const std::string& path) {
  auto value = tree_at(g, "betas", path);
  std::vector<c10::IValue> items;
  if (value.isTuple()) {
    items = value.toTupleRef().elements().vec();
  } else if (value.isList()) {
    items = value.toList().vec();
  }
  if (items.size() != 2) {
    throw CheckpointError(fmt::format("state tree: '{}/betas' should be a pair of numbers", path));
  }
  return {items[0].toScalar().toDouble(), items[1].toScalar().toDouble()};
}

// A copy shaped-checked against the parameter, on its device and dtype, so the optimizer never
// aliases the tree it was loaded from.
at::Tensor like_param(const at::Tensor& saved, const at::Tensor& param, const std::string& path) {
  if (saved.sizes() != param.sizes()) {
    throw CheckpointError(fmt::format("state tree: '{}' has shape {} but the parameter has shape {}", path,
                                      saved.sizes(), param.sizes()));
  }
  return saved.to(param.device(), param.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

at::Tensor tensor_for(const TreeDict& s, const std::string& key, const std::string& path, const at::Tensor& param) {
  return like_param(tree_tensor(s, key, path), param, tree_join(path, key));
}

at::Tensor optional_tensor(const TreeDict& s, const std::string& key, const std::string& path,
                           const at::Tensor& param) {
  if (!tree_has(s, key) || tree_at(s, key, path).isNone()) return {};
  return tensor_for(s, key, path, param);
}

template <typename Opt, typename Options, typename State>
Codec adam_like(const char* name) {
  return Codec{
      name,
      is<Opt>,
      [](const optim::OptimizerOptions& base, TreeDict& g) {
        const auto& o = static_cast<const Options&>(base);
        g.insert("lr", o.lr());
        g.insert("betas", betas(o.betas()));
        g.insert("eps", o.eps());
        g.insert("weight_decay", o.weight_decay());
        g.insert("amsgrad", o.amsgrad());
        g.insert("maximize", false);
        g.insert("foreach", c10::IValue());
        g.insert("capturable", false);
      },
      [](optim::OptimizerOptions& base, const TreeDict& g, const std::string& path) {
        auto& o = static_cast<Options&>(base);
        o.lr(tree_double(g, "lr", path));
        o.betas(load_betas(g, path));
        o.eps(tree_double(g, "eps", path));
        o.weight_decay(tree_double(g, "weight_decay", path));
        o.amsgrad(tree_int(g, "amsgrad", path) != 0);
      },
      [](const optim::OptimizerParamState& base, TreeDict& s) {
        const auto& st = static_cast<const State&>(base);
        s.insert("step", step_tensor(st.step()));
        s.insert("exp_avg", st.exp_avg());
        s.insert("exp_avg_sq", st.exp_avg_sq());
        if (st.max_exp_avg_sq().defined()) s.insert("max_exp_avg_sq", st.max_exp_avg_sq());
      },
      [](const TreeDict& s, const std::string& path, const at::Tensor& p) {
        auto st = std::make_unique<State>();
        st->step(tree_int(s, "step", path));
        st->exp_avg(tensor_for(s, "exp_avg", path, p));
        st->exp_avg_sq(tensor_for(s, "exp_avg_sq", path, p));
        st->max_exp_avg_sq(optional_tensor(s, "max_exp_avg_sq", path, p));
        return std::unique_ptr<optim::OptimizerParamState>(std::move(st));
      }};
}

const std::vector<Codec>& codecs() {
  static const std::vector<Codec> all = {
      Codec{"SGD", is<optim::SGD>,
            [](const optim::OptimizerOptions& base, TreeDict& g) {
              const auto& o = static_cast<const optim::SGDOptions&>(base);
              g.insert("lr", o.lr());
              g.insert("momentum", o.momentum());
              g.insert("dampening", o.dampening());
              g.insert("weight_decay", o.weight_decay());
              g.insert("nesterov", o.nesterov());
              g.insert("maximize", false);
              g.insert("foreach", c10::IValue());
            },
            [](optim::OptimizerOptions& base, const TreeDict& g, const std::string& path) {
              auto& o = static_cast<optim::SGDOptions&>(base);
              o.lr(tree_double(g, "lr", path));
              o.momentum(tree_double(g, "momentum", path));
              o.dampening(tree_double(g, "dampening", path));
              o.weight_decay(tree_double(g, "weight_decay", path));
              o.nesterov(tree_int(g, "nesterov", path) != 0);
            },
            [](const optim::OptimizerParamState& base, TreeDict& s) {
              const auto& st = static_cast<const optim::SGDParamState&>(base);
              s.insert("momentum_buffer", st.momentum_buffer().defined() ? c10::IValue(st.momentum_buffer())
                                                                          : c10::IValue());
            },
            [](const TreeDict& s, const std::string& path, const at::Tensor& p) {
              auto st = std::make_unique<optim::SGDParamState>();
              st->momentum_buffer(optional_tensor(s, "momentum_buffer", path, p));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(st));
            }},
      adam_like<optim::Adam, optim::AdamOptions, optim::AdamParamState>("Adam"),
      adam_like<optim::AdamW, optim::AdamWOptions, optim::AdamWParamState>("AdamW"),
      Codec{"RMSprop", is<optim::RMSprop>,
            [](const optim::OptimizerOptions& base, TreeDict& g) {
              const auto& o = static_cast<const optim::RMSpropOptions&>(base);
              g.insert("lr", o.lr());
              g.insert("alpha", o.alpha());
              g.insert("eps", o.eps());
              g.insert("weight_decay", o.weight_decay());
              g.insert("momentum", o.momentum());
              g.insert("centered", o.centered());
              g.insert("maximize", false);
              g.insert("foreach", c10::IValue());
            },
            [](optim::OptimizerOptions& base, const TreeDict& g, const std::string& path) {
              auto& o = static_cast<optim::RMSpropOptions&>(base);
              o.lr(tree_double(g, "lr", path));
              o.alpha(tree_double(g, "alpha", path));
              o.eps(tree_double(g, "eps", path));
              o.weight_decay(tree_double(g, "weight_decay", path));
              o.momentum(tree_double(g, "momentum", path));
              o.centered(tree_int(g, "centered", path) != 0);
            },
            [](const optim::OptimizerParamState& base, TreeDict& s) {
              const auto& st = static_cast<const optim::RMSpropParamState&>(base);
              s.insert("step", step_tensor(st.step()));
              s.insert("square_avg", st.square_avg());
              if (st.momentum_buffer().defined()) s.insert("momentum_buffer", st.momentum_buffer());
              if (st.grad_avg().defined()) s.insert("grad_avg", st.grad_avg());
            },
            [](const TreeDict& s, const std::string& path, const at::Tensor& p) {
              auto st = std::make_unique<optim::RMSpropParamState>();
              st->step(tree_int(s, "step", path));
              st->square_avg(tensor_for(s, "square_avg", path, p));
              st->momentum_buffer(optional_tensor(s, "momentum_buffer", path, p));
              st->grad_avg(optional_tensor(s, "grad_avg", path, p));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(st));
            }},
      Codec{"Adagrad", is<optim::Adagrad>,
            [](const optim::OptimizerOptions& base, TreeDict& g) {
              const auto& o = static_cast<const optim::AdagradOptions&>(base);
              g.insert("lr", o.lr());
              g.insert("lr_decay", o.lr_decay());
              g.insert("weight_decay", o.weight_decay());
              g.insert("initial_accumulator_value", o.initial_accumulator_value());
              g.insert("eps", o.eps());
              g.insert("maximize", false);
              g.insert("foreach", c10::IValue());
            },
            [](optim::OptimizerOptions& base, const TreeDict& g, const std::string& path) {
              auto& o = static_cast<optim::AdagradOptions&>(base);
              o.lr(tree_double(g, "lr", path));
              o.lr_decay(tree_double(g, "lr_decay", path));
              o.weight_decay(tree_double(g, "weight_decay", path));
              o.initial_accumulator_value(tree_double(g, "initial_accumulator_value", path));
              o.eps(tree_double(g, "eps", path));
            },
            [](const optim::OptimizerParamState& base, TreeDict& s) {
              const auto& st = static_cast<const optim::AdagradParamState&>(base);
              s.insert("step", step_tensor(st.step()));
              s.insert("sum", st.sum());
            },
            [](const TreeDict& s, const std::string& path, const at::Tensor& p) {
              auto st = std::make_unique<optim::AdagradParamState>();
              st->step(tree_int(s, "step", path));
              st->sum(tensor_for(s, "sum", path, p));
              return std::unique_ptr<optim::OptimizerParamState>(std::move(st));
            }},
  };
  return all;
}

const Codec& codec_for(const optim::Optimizer& optimizer) {
  for (const auto& codec : codecs()) {
    if (codec.matches(optimizer)) return codec;
  }
  throw CheckpointError(fmt::format(
      "optimizer of type '{}' cannot be checkpointed: supported are SGD, Adam, AdamW, RMSprop, Adagrad",
      c10::demangle(typeid(optimizer).name())));
}

}  // namespace

std::string optimizer_type_name(const optim::Optimizer& optimizer) { return codec_for(optimizer).name; }

c10::IValue optimizer_state_dict(const optim::Optimizer& optimizer) {
  const auto& codec = codec_for(optimizer);
  auto state = new_int_key_dict();
  c10::impl::GenericList groups(c10::AnyType::get());
  int64_t index = 0;
  for (const auto& group : optimizer.param_groups()) {
    auto g = new_tree_dict();
    codec.save_group(group.options(), g);
    c10::List<int64_t> params;
    for (const auto& param : group.params()) {
      auto it = optimizer.state().find(optimizer_state_key(param));
      if (it != optimizer.state().end()) {
        auto s = new_tree_dict();
        codec.save_param(*it->second, s);
        state.insert(index, s);
      }
      params.push_back(index++);
    }
    g.insert("params", params);
    groups.push_back(g);
  }
  auto dict = new_tree_dict();
  dict.insert("state", state);
  dict.insert("param_groups", groups);
  return dict;
}

std::function<void()> prepare_optimizer_load(optim::Optimizer& optimizer, const c10::IValue& tree,
                                             const std::string& path, const ParameterNames& name_of) {
  const auto& codec = codec_for(optimizer);
  auto dict = tree_dict(tree, path);
  auto groups_value = tree_at(dict, "param_groups", path);
  if (!groups_value.isList()) {
    throw CheckpointError(fmt::format("state tree: '{}/param_groups' should be a list", path));
  }
  auto saved_groups = groups_value.toList();
  auto& groups = optimizer.param_groups();
  if (saved_groups.size() != groups.size()) {
    throw CheckpointError(fmt::format("state tree: '{}' has {} parameter groups but the optimizer has {}", path,
                                      saved_groups.size(), groups.size()));
  }
  auto saved_state = tree_dict(tree_at(dict, "state", path), path + "/state");

  // Build everything first, so a mismatch found late leaves the optimizer untouched.
  std::vector<std::unique_ptr<optim::OptimizerOptions>> new_options;
  std::vector<std::pair<OptimizerStateKey, std::unique_ptr<optim::OptimizerParamState>>> new_state;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto group_path = fmt::format("{}/param_groups/{}", path, gi);
    auto g = tree_dict(saved_groups.get(gi), group_path);
    auto params = tree_at(g, "params", group_path);
    const auto count = params.isList() ? params.toList().size() : 0;
    if (count != groups[gi].params().size()) {
      throw CheckpointError(fmt::format("state tree: '{}' holds {} parameters but the optimizer's group has {}",
                                        group_path, count, groups[gi].params().size()));
    }
    auto options = groups[gi].options().clone();
    codec.load_group(*options, g, group_path);
    new_options.push_back(std::move(options));
    const auto& group_params = groups[gi].params();
    for (size_t j = 0; j < group_params.size(); ++j) {
      const auto saved_id = params.toList().get(j);
      std::string id_text;
      if (saved_id.isInt()) {
        id_text = std::to_string(saved_id.toInt());
      } else if (saved_id.isString()) {
        // Composer's form: the parameter's name, which must name this parameter in this run.
        id_text = saved_id.toStringRef();
        const std::string have = name_of ? name_of(group_params[j]) : "";
        if (id_text != have) {
          throw CheckpointError(fmt::format(
              "state tree: '{}/params/{}' is '{}', but the optimizer's parameter there is {} in this run's model",
              group_path, j, id_text, have.empty() ? "unnamed" : "'" + have + "'"));
        }
      } else {
        throw CheckpointError(fmt::format("state tree: '{}/params/{}' should be a parameter index or name, not a {}",
                                          group_path, j, saved_id.tagKind()));
      }
      auto it = saved_state.find(saved_id);
      if (it != saved_state.end()) {
        const auto param_path = fmt::format("{}/state/{}", path, id_text);
        auto param_state = codec.load_param(tree_dict(it->value(), param_path), param_path, group_params[j]);
        new_state.emplace_back(optimizer_state_key(group_params[j]), std::move(param_state));
      }
    }
  }

  // shared_ptr holders: std::function needs a copyable closure.
  auto options = std::make_shared<decltype(new_options)>(std::move(new_options));
  auto states = std::make_shared<decltype(new_state)>(std::move(new_state));
  return [&optimizer, options, states] {
    auto& groups = optimizer.param_groups();
    for (size_t gi = 0; gi < groups.size(); ++gi) groups[gi].set_options(std::move((*options)[gi]));
    auto& state = optimizer.state();
    state.clear();
    for (auto& [key, param_state] : *states) state[key] = std::move(param_state);
  };
}

}  // namespace tempo
