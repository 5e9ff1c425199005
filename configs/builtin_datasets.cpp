// The tabular and array data sets a config can name: `csv` (data/csv_dataset.h), `npy`
// (data/npy_dataset.h) and `safetensors` (data/safetensors_dataset.h, the file read here with
// serialization/safetensors.h), each with the loader keys (batch_size, shuffle, ...).
#include <fmt/format.h>

#include "tempo/configs/builtin_support.h"
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/registry.h"
#include "tempo/errors/error.h"
#include "tempo/serialization/safetensors.h"

namespace tempo::config {

namespace {

Check<std::string> required_text(const char* example) {
  return [example](const std::string& v) {
    return v.empty() ? fmt::format("expected {}, got an empty string", example) : std::string();
  };
}

Check<double> val_fraction_check() {
  return [](const double& v) {
    return v >= 0.0 && v < 1.0 ? std::string() : fmt::format("expected a fraction in [0, 1), got {}", v);
  };
}

// The split keys, the same for every data set here (data/row_split.h).
template <typename O>
std::vector<Field<O>> split_fields(std::vector<Field<O>> fields) {
  fields.push_back(field_of("split", &O::split, choice_of<DataSplit>({DataSplit::TRAIN, DataSplit::VALIDATION}),
                            "train or validation rows (see val_fraction)"));
  fields.push_back(field("val_fraction", &O::val_fraction,
                         "Fraction of rows held out as validation, chosen by split_seed; 0: the file is the split",
                         val_fraction_check()));
  fields.push_back(field("split_seed", &O::split_seed, "Seed of the train/validation row split"));
  return fields;
}

}  // namespace

const Description<CsvDatasetOptions>& csv_dataset_description() {
  using O = CsvDatasetOptions;
  static const Description<O> d(split_fields<O>({
      required(field("path", &O::path, "The CSV file (a header row, then one sample a row)", required_text("a file"))),
      required(field("label", &O::label, "Name of the label column", required_text("a column name"))),
      field("features", &O::features, "Feature columns; [] means every column but the label"),
      field("categorical", &O::categorical, "Feature columns to one-hot encode (categories of the training rows)"),
      field_of("label_type", &O::label_type, choice_of<LabelType>({LabelType::CLASS, LabelType::FLOAT}),
               "class (int64 ids; strings map to sorted classes) or float (regression targets)"),
      field("standardize", &O::standardize, "Scale numeric features by the training rows' mean and std"),
      field("train_path", &O::train_path,
            "With split validation and val_fraction 0: the training file giving categories, classes, mean and std"),
  }));
  return d;
}

const Description<NpyDatasetOptions>& npy_dataset_description() {
  using O = NpyDatasetOptions;
  static const Description<O> d(split_fields<O>({
      required(field("inputs", &O::inputs, "The .npy file of the inputs (row i: sample i)", required_text("a file"))),
      required(field("targets", &O::targets, "The .npy file of the targets", required_text("a file"))),
  }));
  return d;
}

const Description<SafetensorsDatasetOptions>& safetensors_dataset_description() {
  using O = SafetensorsDatasetOptions;
  static const Description<O> d(split_fields<O>({
      required(field("path", &O::path, "The .safetensors file", required_text("a file"))),
      required(field("inputs", &O::inputs, "Name of the input tensor in the file", required_text("a tensor name"))),
      required(field("targets", &O::targets, "Name of the target tensor in the file", required_text("a tensor name"))),
  }));
  return d;
}

void register_builtin_datasets(Registry& r) {
  if (!r.datasets.contains("csv")) {
    r.add_dataset("csv", [](const Args& a) {
      return make_loader(std::make_shared<CsvDataset>(csv_dataset_description().read(a.node())), a);
    }, with_loader_keys(csv_dataset_description().schema()));
  }
  if (!r.datasets.contains("npy")) {
    r.add_dataset("npy", [](const Args& a) {
      return make_loader(load_npy_dataset(npy_dataset_description().read(a.node())), a);
    }, with_loader_keys(npy_dataset_description().schema()));
  }
  if (!r.datasets.contains("safetensors")) {
    r.add_dataset("safetensors", [](const Args& a) {
      const auto options = safetensors_dataset_description().read(a.node());
      NamedTensors tensors;
      try {
        tensors = read_safetensors(options.path());
      } catch (const CheckpointError& e) {  // a data file here, not a checkpoint
        throw DataError(e.what());
      }
      return make_loader(make_safetensors_dataset(tensors, options), a);
    }, with_loader_keys(safetensors_dataset_description().schema()));
  }
}

}  // namespace tempo::config
