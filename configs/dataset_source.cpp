#include "tempo/configs/dataset_source.h"

#include <utility>

#include "tempo/configs/builtin_support.h"
#include "tempo/data/data_loader.h"
#include "tempo/errors/error.h"

namespace tempo::config {

void add_dataset_source(Registry& registry, const std::string& name, DatasetSource source, Schema keys) {
  registry.add_dataset(
      name,
      [name, source = std::move(source)](const Args& a) -> std::shared_ptr<DataLoader> {
        auto dataset = source(a);
        if (!dataset) throw ConfigError("dataset '" + name + "': its source returned no dataset");
        return make_loader(std::move(dataset), a);
      },
      with_loader_keys(std::move(keys)));
}

}  // namespace tempo::config
