// What every built-in data set part shares (configs/builtins.cpp and the builtin_*.cpp files that
// register more parts): the loader keys a dataset section accepts beside its own, and the
// DataLoader built from them. Private to configs/.
#pragma once

#include <memory>

#include "tempo/configs/args.h"
#include "tempo/configs/schema.h"
#include "tempo/data/data_loader.h"

namespace tempo::config {

// A config's loader batches 64 samples unless told otherwise (DataLoaderOptions' C++ default is 1).
DataLoaderOptions config_loader_defaults();
// `schema` (a dataset's own keys) followed by the loader keys (batch_size, shuffle, ...).
Schema with_loader_keys(Schema schema);
// A DataLoader over `dataset` with the loader keys of `a`.
std::shared_ptr<DataLoader> make_loader(std::shared_ptr<Dataset> dataset, const Args& a);

}  // namespace tempo::config
