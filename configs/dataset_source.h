// A user's own Dataset as a config's dataset part, in one line from their main (before
// tempo::cli::main): the part gets the user's keys and every loader key (batch_size, shuffle,
// num_workers, transforms, ...) as the built-in datasets do, so
//   tempo::config::add_dataset_source(tempo::config::registry(), "rings",
//       [](const tempo::config::Args& a) { return make_rings(a.get<int64_t>("num_samples")); },
//       {{"num_samples", "int", "1000", "Samples in the data set"}});
// lets a config say `train_loader: {rings: {num_samples: 500, batch_size: 32, num_workers: 2}}`.
// `keys` is the Schema of the dataset's own keys (checked and defaulted before `source` runs,
// which reads them with a.get); the loader keys are read by tempo. Replaces a part of that name.
// Throws what the loader's constructor throws (ConfigError for bad loader options) when the part is
// built, located at the part by the config builder.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "tempo/configs/args.h"
#include "tempo/configs/registry.h"
#include "tempo/configs/schema.h"
#include "tempo/data/dataset.h"

namespace tempo::config {

using DatasetSource = std::function<std::shared_ptr<Dataset>(const Args&)>;

void add_dataset_source(Registry& registry, const std::string& name, DatasetSource source, Schema keys = {});

}  // namespace tempo::config
