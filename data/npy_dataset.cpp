#include "tempo/data/npy_dataset.h"

#include "tempo/data/npy_file.h"
#include "tempo/errors/error.h"

namespace tempo {

std::shared_ptr<ArrayDataset> load_npy_dataset(const NpyDatasetOptions& options) {
  if (options.inputs().empty()) throw ConfigError("npy: inputs is required (the .npy file of the inputs)");
  if (options.targets().empty()) throw ConfigError("npy: targets is required (the .npy file of the targets)");
  return std::make_shared<ArrayDataset>(
      map_npy(options.inputs()), map_npy(options.targets()), options.inputs(), options.targets(),
      RowSplitOptions().split(options.split()).val_fraction(options.val_fraction()).split_seed(options.split_seed()));
}

}  // namespace tempo
