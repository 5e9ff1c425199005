#include "tempo/trainer/rank_sync.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "tempo/data/data_loader.h"
#include "tempo/distributed/data_parallel.h"
#include "tempo/optim/flat_buffer.h"
#include "tempo/state/model.h"
#include "tempo/trainer/precision.h"
#include "tempo/distributed/dist.h"
#include "tempo/errors/error.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

bool several(const State& state) { return state.comm != nullptr && state.world_size > 1; }

// Every metric's accumulators as numbers, metric by metric (by name) and key by key in the order
// state_dict() gives them, which is the same on every rank. Counts are exact as doubles below 2^53.
void pack(const MetricMap& metrics, std::vector<double>& values) {
  for (const auto& [name, metric] : metrics) {
    for (const auto& entry : metric->state_dict().toGenericDict()) {
      values.push_back(entry.value().isInt() ? static_cast<double>(entry.value().toInt()) : entry.value().toDouble());
    }
  }
}

void unpack(MetricMap& metrics, const double* values) {
  for (auto& [name, metric] : metrics) {
    auto dict = metric->state_dict().toGenericDict();
    auto summed = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
    for (const auto& entry : dict) {
      const double v = *values++;
      if (entry.value().isInt()) {
        summed.insert(entry.key(), static_cast<int64_t>(std::llround(v)));
      } else {
        summed.insert(entry.key(), v);
      }
    }
    metric->load_state_dict(summed, "metrics/" + name);
  }
}

void shard(const State& state, DataLoader& loader, const std::string& label) {
  const auto& sampler = loader.sampler();
  if (sampler.num_replicas() == state.world_size && sampler.rank() == state.rank) return;
  if (sampler.num_replicas() != 1) {
    throw ConfigError(fmt::format("the {} loader is sharded for {} ranks (rank {}), but this run has {} (this is rank "
                                  "{}): leave sharding to the trainer",
                                  label, sampler.num_replicas(), sampler.rank(), state.world_size, state.rank));
  }
  loader.set_replicas(state.world_size, state.rank);
}

}  // namespace

void join_ranks(State& state, double dist_timeout) {
  state.comm = dist::initialize(dist_timeout);
  if (!state.comm) return;
  state.rank = state.comm->rank();
  state.world_size = state.comm->world_size();
  state.local_rank = state.comm->local_rank();
  state.local_world_size = state.comm->local_world_size();
  state.node_rank = state.comm->node_rank();
}

void share_rank_zero_choices(State& state, const TrainerOptions& options) {
  if (!several(state)) return;
  // Composer: a seed left to chance is rank 0's, so every rank shuffles alike; so is a run name.
  if (!options.seed()) {
    state.rank_zero_seed = std::stoull(rank_zero_string(state, std::to_string(state.rank_zero_seed), "sharing rank 0's seed"));
  }
  if (options.run_name().empty()) state.run_name = rank_zero_string(state, state.run_name, "sharing rank 0's run name");
}

void shard_loaders(State& state, std::vector<Evaluator>& evaluators) {
  if (!several(state)) return;
  shard(state, *state.train_dataloader, "train");
  for (auto& evaluator : evaluators) shard(state, *evaluator.dataloader, "'" + evaluator.label + "' evaluation");
}

void check_same_configuration(State& state, const std::vector<std::pair<std::string, std::string>>& fingerprint) {
  if (!several(state)) return;
  std::string mine;
  for (const auto& [key, value] : fingerprint) mine += key + '\0' + value + '\0';
  const auto all = state.comm->all_gather_bytes(mine, "comparing the ranks' configurations");
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    // Name the first key that differs.
    const auto split = [](const std::string& text) {
      std::vector<std::string> parts;
      size_t start = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\0') {
          parts.push_back(text.substr(start, i - start));
          start = i + 1;
        }
      }
      return parts;
    };
    const auto zero = split(all[0]);
    const auto other = split(all[r]);
    for (size_t i = 0; i + 1 < std::max(zero.size(), other.size()); i += 2) {
      const auto at = [&](const std::vector<std::string>& p, size_t k) { return k < p.size() ? p[k] : "(none)"; };
      if (at(zero, i) != at(other, i) || at(zero, i + 1) != at(other, i + 1)) {
        throw DistributedError(fmt::format("rank {}'s {} is '{}' but rank 0's is '{}': every rank of a run must be "
                                           "configured alike (same YAML, overrides and program)",
                                           r, at(other, i), at(other, i + 1), at(zero, i + 1)));
      }
    }
  }
}

double reduce_batch(State& state, double loss) {
  if (!several(state)) return loss;
  std::vector<double> values{loss};
  pack(state.train_metrics, values);
  auto tensor = torch::tensor(values, torch::kDouble);
  state.comm->all_reduce(tensor, ReduceOp::SUM, "all-reducing the batch's loss and train metrics");
  const double* summed = tensor.data_ptr<double>();
  unpack(state.train_metrics, summed + 1);
  return summed[0] / static_cast<double>(state.world_size);
}

void reduce_metrics(State& state, MetricMap& metrics, const std::string& what) {
  if (!several(state) || metrics.empty()) return;
  std::vector<double> values;
  pack(metrics, values);
  auto tensor = torch::tensor(values, torch::kDouble);
  state.comm->all_reduce(tensor, ReduceOp::SUM, "all-reducing " + what);
  unpack(metrics, tensor.data_ptr<double>());
}

std::pair<bool, int> agree_on_stop(State& state, bool stop, int signal) {
  if (!several(state)) return {stop, signal};
  auto flags = torch::tensor({stop ? int64_t{1} : int64_t{0}, static_cast<int64_t>(signal)}, torch::kLong);
  state.comm->all_reduce(flags, ReduceOp::MAX, "agreeing whether to stop");
  return {flags[0].item<int64_t>() != 0, static_cast<int>(flags[1].item<int64_t>())};
}

std::vector<std::pair<std::string, std::string>> configuration_fingerprint(const State& state, const TrainerOptions& options_) {
  std::vector<std::pair<std::string, std::string>> keys{
      {"seed", std::to_string(state.rank_zero_seed)},
      {"run_name", state.run_name},
      {"max_duration", state.max_duration ? to_string(*state.max_duration) : "none"},
      {"train batch_size", std::to_string(state.train_dataloader->batch_size())},
      {"train data set size", std::to_string(state.train_dataloader->dataset().size())},
      {"gradient_accumulation_steps", std::to_string(state.gradient_accumulation_steps)},
      {"device_train_microbatch_size", std::to_string(state.device_train_microbatch_size)},
      {"precision", to_string(options_.precision())},
      {"optimizers", std::to_string(state.optimizers.size())},
      {"save_folder", options_.save_folder()},
      {"load_path", options_.load_path()},
      {"autoresume", options_.autoresume() ? "true" : "false"}};
  for (const auto& item : state.model->named_parameters()) {
    keys.emplace_back("model parameter " + item.key(), fmt::format("{}", fmt::join(item.value().sizes(), "x")));
  }
  return keys;
}

std::unique_ptr<DataParallel> make_data_parallel(State& state) {
  if (!several(state)) return nullptr;
  // A fused optimizer moves the parameters into its flat buffer at its first step; done later, the
  // Reducer's gradient hooks stop firing (measured: only the first step's gradients were averaged).
  for (auto& optimizer : state.optimizers) {
    if (auto* fused = dynamic_cast<FusedOptimizer*>(optimizer.get())) fused->prepare();
  }
  std::vector<at::Tensor> parameters;
  std::vector<std::string> names;
  for (const auto& item : state.model->named_parameters()) {
    if (!item.value().requires_grad()) continue;  // frozen: no gradient to average
    names.push_back(item.key());
    parameters.push_back(item.value());
  }
  // Gradients as bucket views save the Reducer's copies into its buckets and back: the trainer
  // zeroes them in place and the fused optimizers read them where they are.
  return std::make_unique<DataParallel>(state.comm, parameters, names, state.model->buffers(),
                                        DataParallelOptions().gradient_as_bucket_view(true));
}

void warn_of_missing_rng(const State& state, const CheckpointLoadResult& result, const std::string& path) {
  if (result.rng.isNone() && result.rng_ranks > 0) {
    state.env->warn(fmt::format("'{}' holds the RNG states of {} rank(s): rank {} starts its generators from the run's "
                                "seed", path, result.rng_ranks, state.rank));
  } else if (state.rank == 0 && result.rng_ranks > state.world_size) {
    state.env->warn(fmt::format("'{}' holds the RNG states of {} ranks; this run has {}: those of ranks {}..{} are "
                                "dropped", path, result.rng_ranks, state.world_size, state.world_size, result.rng_ranks - 1));
  }
}

std::string rank_zero_string(State& state, const std::string& value, const std::string& what) {
  if (!several(state)) return value;
  return state.comm->broadcast_bytes(value, 0, what);
}

}  // namespace tempo
