// The YAML face of the loaders' per-sample transforms (data/transforms.h): a `transforms:` list on
// a dataset's keys, each element a map naming one transform and its arguments, applied in order:
//   transforms: [{random_crop: {size: 28, padding: 4}}, {horizontal_flip: {p: 0.5}},
//                {normalize: {mean: [0.5], std: [0.25]}}]
// Each transform's keys come from the description of its options struct, like a part's.
// Throws: LocatedConfigError naming the file, line and key path ("train_loader.fashion_mnist.
// transforms.1.horizontal_flip.p: ...") for a value that is not a list, an element that is not a
// one-key map, an unknown transform (with did-you-mean), an unknown or missing key, and for the
// transform's own checks (p outside [0, 1], std <= 0, ...).
#pragma once

#include <string>
#include <vector>

#include "tempo/configs/options_description.h"
#include "tempo/data/transforms.h"

namespace tempo::config {

const Description<RandomCropOptions>& random_crop_description();
const Description<HorizontalFlipOptions>& horizontal_flip_description();
const Description<NormalizeOptions>& normalize_description();

// The names of the transforms a config can use, sorted.
std::vector<std::string> transform_names();

// The value of the loaders' `transforms` key: type list[transform], default [].
Value<TransformList> transforms_value();

}  // namespace tempo::config
