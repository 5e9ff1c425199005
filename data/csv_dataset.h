// A table from a CSV file (data/csv_table.h) as a dataset: one label column and feature columns,
// read once at construction into float32 input [N, F] and a target [N]. YAML's `csv` dataset.
//
// Features, in the order `features` lists them (default: every column but the label, in the
// file's order): a numeric column is one float32 value; a column named in `categorical` is one-hot
// encoded over the categories of the training rows in sorted (byte) order, one input per category,
// named "<column>=<category>". Only declared columns are categorical (never guessed from the
// values, so a split cannot change the encoding): a cell of another feature that is not a finite
// number is an error suggesting `categorical`. A category absent from the training rows is an
// error (not an all-zero row), naming the cell and the known categories.
// Label: with label_type class (default), integer ids >= 0 become int64 targets as written when
// every training label is an integer; otherwise the training rows' labels, sorted, are the classes
// and a label becomes its index in them (classes()); label_type float gives float32 targets for
// regression. An empty label cell is an error.
// Split: data/row_split.h with val_fraction and split_seed; with val_fraction 0, `path` is the file
// of the split itself, and a validation file needs train_path, the training file whose rows give
// the categories, the classes and the statistics.
// Standardization (standardize, default true): each numeric feature becomes (x - mean) / std with
// the mean and population std of the TRAINING rows (a constant column keeps std 1), for either
// split. They are the dataset's state_tensors() "mean" and "std" (float64 [numeric features]), so
// a checkpoint stores them and resuming checks that the training data still gives the same
// numbers (Dataset::check_state_tensors), rather than quietly training on data scaled otherwise.
// Invariants: size() >= 1; input float32 [N, F] with F = numeric features + categories; target
// int64 [N] (class) or float32 [N] (float); get_batch is const and thread-safe.
// Throws: DataError "<file>:<line>: column <n> '<name>': ..." for a malformed cell (not a number,
// unknown category or label, missing label) and as data/csv_table.h for malformed CSV; DataError
// naming the file and its columns for a label or feature column it lacks; ConfigError for options
// that contradict each other (label among the features, categorical not a feature, train_path
// where it is not used or missing where needed, val_fraction outside [0, 1)).
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tempo/data/dataset.h"
#include "tempo/data/row_split.h"

namespace tempo {

enum class LabelType { CLASS, FLOAT };
std::string to_string(LabelType type);  // "class", "float"

struct CsvDatasetOptions {
  TORCH_ARG(std::string, path) = "";
  // The label column's name.
  TORCH_ARG(std::string, label) = "";
  // Feature columns; empty: every column but the label.
  TORCH_ARG(std::vector<std::string>, features) = {};
  // Feature columns to one-hot encode.
  TORCH_ARG(std::vector<std::string>, categorical) = {};
  TORCH_ARG(LabelType, label_type) = LabelType::CLASS;
  TORCH_ARG(DataSplit, split) = DataSplit::TRAIN;
  TORCH_ARG(double, val_fraction) = 0.1;
  TORCH_ARG(uint64_t, split_seed) = 0;
  TORCH_ARG(bool, standardize) = true;
  // With val_fraction 0 and split validation: the training file (categories, classes, statistics).
  TORCH_ARG(std::string, train_path) = "";
};

class CsvDataset : public TensorDataset {
 public:
  explicit CsvDataset(const CsvDatasetOptions& options);

  // {"mean", "std"} when standardizing numeric features, else none.
  std::map<std::string, at::Tensor> state_tensors() const override;

  // The name of each input column: a numeric feature's column name, "<column>=<category>".
  const std::vector<std::string>& input_names() const { return input_names_; }
  // String labels in class-id order; empty for integer or float labels.
  const std::vector<std::string>& classes() const { return classes_; }
  // Per numeric feature (in input order), float64; undefined without standardize.
  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& std() const { return std_; }

 private:
  struct Prepared;
  static Prepared prepare(const CsvDatasetOptions& options);
  explicit CsvDataset(Prepared prepared);

  std::vector<std::string> input_names_;
  std::vector<std::string> classes_;
  at::Tensor mean_;
  at::Tensor std_;
};

}  // namespace tempo
