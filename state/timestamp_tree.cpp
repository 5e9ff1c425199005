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

}  // namespace

c10::IValue timestamp_to_tree(const Timestamp& timestamp) {
  auto dict = new_tree_dict();
  auto put = [&dict](const char* key, const auto& value) { dict.insert(key, value); };
  for_each_field(timestamp.fields(), put, put);
  return dict;
}

Timestamp timestamp_from_tree(const c10::IValue& tree, const std::string& path) {
  auto dict = tree_dict(tree, path);
  TimestampFields fields;
  for_each_field(
      fields,
      [&](const char* key, int64_t& value) {
        if (tree_has(dict, key)) value = tree_int(dict, key, path);
      },
      [&](const char* key, double& value) {
        if (tree_has(dict, key)) value = tree_double(dict, key, path);
      });
  // Composer files from before iterations existed: the whole run is one iteration.
  if (!tree_has(dict, "epoch_in_iteration")) fields.epoch_in_iteration = fields.epoch;
  if (!tree_has(dict, "token_in_iteration")) fields.token_in_iteration = fields.token;
  try {
    return Timestamp(fields);
  } catch (const Error& e) {
    throw CheckpointError(fmt::format("state tree: '{}' is not a valid timestamp: {}", path, e.what()));
  }
}

}  // namespace tempo
