// What the Trainer agrees on with the other ranks of a multi-process run (State::comm), so that
// every rank takes the same decisions and reports the same numbers, as Composer's trainer does:
//   join_ranks        at construction: joins the group (torchrun's environment), gives rank 0's
//                     seed and run name to all when the options leave them to chance, shards the
//                     loaders, and checks that every rank was configured alike;
//   reduce_batch      per batch: the loss averaged and the train metrics' accumulators summed over
//                     ranks (torchmetrics' sync) in one all-reduce, before they are logged;
//   reduce_metrics    the same for an evaluator's metrics at the end of its evaluation;
//   agree_on_stop     where the loop may stop: a stop request or a signal on any rank stops all
//                     of them at the same batch;
//   rank_zero_string  rank 0's choice (the checkpoint autoresume continues from) on every rank;
//   make_data_parallel  DDP for the model (distributed/data_parallel.h), once its weights are final.
// Every function is a no-op (or returns its input) in a single process.
// Throws: DistributedError (a rank that does not answer within dist_timeout, or configurations
// that differ: it names the key, rank 0's value and the other rank's), ConfigError.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tempo/distributed/data_parallel.h"
#include "tempo/metrics/metric.h"
#include "tempo/state/checkpoint_tree.h"
#include "tempo/state/state.h"
#include "tempo/trainer/evaluator.h"
#include "tempo/trainer/trainer_options.h"

namespace tempo {

// Fills state.comm, rank, world_size, local_rank, local_world_size and node_rank from the
// environment; call before the seed and run name are used.
void join_ranks(State& state, double dist_timeout);
// After join_ranks: rank 0's seed and run name where the options gave none.
void share_rank_zero_choices(State& state, const TrainerOptions& options);
// Shards every loader over the ranks (a loader the user sharded already must match the run).
void shard_loaders(State& state, std::vector<Evaluator>& evaluators);
// Compares `fingerprint` ({key, value} pairs that must agree) across ranks.
void check_same_configuration(State& state, const std::vector<std::pair<std::string, std::string>>& fingerprint);

double reduce_batch(State& state, double loss);
void reduce_metrics(State& state, MetricMap& metrics, const std::string& what);
// {stop, signal}: whether any rank stops, and the first signal any rank got (0: none).
std::pair<bool, int> agree_on_stop(State& state, bool stop, int signal);
std::string rank_zero_string(State& state, const std::string& value, const std::string& what);

// The {key, value} pairs every rank must agree on: seed, run name, durations, batch sizes, data
// set size, precision, checkpoint options, the model's parameter names and shapes.
std::vector<std::pair<std::string, std::string>> configuration_fingerprint(const State& state,
                                                                           const TrainerOptions& options);
// DDP over the model's trainable parameters (distributed/data_parallel.h); null with one rank.
std::unique_ptr<DataParallel> make_data_parallel(State& state);
// After a load: warns when this rank found no RNG state of its own in the checkpoint (a run
// resumed on more ranks than saved it) or, on rank 0, that states of ranks beyond this run's are dropped.
void warn_of_missing_rng(const State& state, const CheckpointLoadResult& result, const std::string& path);

}  // namespace tempo
