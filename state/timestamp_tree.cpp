#include "tempo/state/timestamp_tree.h"

#include <fmt/format.h>

#include <utility>

#include "tempo/errors/error.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

// One table for both directions, so the two can never disagree on a key.
template <typename Fields, typename OnInt, typename OnDouble>
void for_each_field(Fields& f, OnInt on_int, OnDouble on_double) {
  on_int("iteration", f.iteration);
  on_int("epoch", f.epoch);
  on_int("batch", f.batch);
  on_int("sample", f.sample);
  on_int("token", f.token);
  on_int("epoch_in_iteration", f.epoch_in_iteration);
  on_int("token_in_iteration", f.token_in_iteration);
  on_int("batch_in_epoch", f.batch_in_epoch);
  on_int("sample_in_epoch", f.sample_in_epoch);
  on_int("token_in_epoch", f.token_in_epoch);
  on_double("total_wct", f.total_wct);
  on_double("iteration_wct", f.iteration_wct);
  on_double("epoch_wct", f.epoch_wct);
  on_double("batch_wct", f.batch_wct);
}

constexpr const char* kCounters = "Timestamp";
constexpr const char* kWallClock = "wct_seconds";

}  // namespace

c10::IValue timestamp_to_tree(const Timestamp& timestamp) {
  auto counters = new_tree_dict();
  auto wall_clock = new_tree_dict();
  for_each_field(
      timestamp.fields(), [&](const char* key, int64_t value) { counters.insert(key, value); },
      [&](const char* key, double value) { wall_clock.insert(key, value); });
  auto dict = new_tree_dict();
  dict.insert(kCounters, counters);
  dict.insert(kWallClock, wall_clock);
  return dict;
}

Timestamp timestamp_from_tree(const c10::IValue& tree, const std::string& path) {
  const auto outer = tree_dict(tree, path);
  const bool nested = tree_has(outer, kCounters);
  const auto counters_path = nested ? tree_join(path, kCounters) : path;
  const auto counters = nested ? tree_dict(tree_at(outer, kCounters, path), counters_path) : outer;
  const auto wall_clock_path = tree_join(path, kWallClock);
  const bool tempo_wall_clock = nested && tree_has(outer, kWallClock);
  const auto wall_clock = tempo_wall_clock ? tree_dict(tree_at(outer, kWallClock, path), wall_clock_path) : counters;
  const auto& wall_clock_of = tempo_wall_clock ? wall_clock_path : counters_path;
  TimestampFields fields;
  for_each_field(
      fields,
      [&](const char* key, int64_t& value) {
        if (tree_has(counters, key)) value = tree_int(counters, key, counters_path);
      },
      [&](const char* key, double& value) {
        if (tree_has(wall_clock, key)) value = tree_double(wall_clock, key, wall_clock_of);
      });
  // Composer files from before iterations existed: the whole run is one iteration.
  if (!tree_has(counters, "epoch_in_iteration")) fields.epoch_in_iteration = fields.epoch;
  if (!tree_has(counters, "token_in_iteration")) fields.token_in_iteration = fields.token;
  try {
    return Timestamp(fields);
  } catch (const Error& e) {
    throw CheckpointError(fmt::format("state tree: '{}' is not a valid timestamp: {}", counters_path, e.what()));
  }
}

}  // namespace tempo
