#include "tempo/data/csv_dataset.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "tempo/data/csv_table.h"
#include "tempo/errors/error.h"

namespace tempo {

std::string to_string(LabelType type) { return type == LabelType::CLASS ? "class" : "float"; }

namespace {

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// from_chars parses in the "C" locale whatever the process's locale is; it takes no '+'.
bool parse_double(const std::string& text, double* out) {
  std::string t = trimmed(text);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  if (t.empty()) return false;
  const auto result = std::from_chars(t.data(), t.data() + t.size(), *out);
  return result.ec == std::errc() && result.ptr == t.data() + t.size() && std::isfinite(*out);
}

bool parse_int(const std::string& text, int64_t* out) {
  std::string t = trimmed(text);
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  if (t.empty()) return false;
  const auto result = std::from_chars(t.data(), t.data() + t.size(), *out);
  return result.ec == std::errc() && result.ptr == t.data() + t.size();
}

std::string joined(const std::vector<std::string>& names, size_t limit = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

// Where a cell is, as every message about one names it.
std::string cell_at(const CsvTable& table, const CsvRecord& record, int64_t column) {
  return fmt::format("{}:{}: column {} '{}'", table.path, record.lines[static_cast<size_t>(column)], column + 1,
                     table.header[static_cast<size_t>(column)]);
}

// The columns of one table that the options name.
struct Columns {
  int64_t label = -1;
  std::vector<int64_t> features;  // in the options' (or the file's) order
  std::vector<bool> categorical;  // per feature
};

Columns resolve(const CsvTable& table, const CsvDatasetOptions& options) {
  auto find = [&](const std::string& name, const char* role) {
    const int64_t index = table.column(name);
    if (index < 0) {
      throw DataError(fmt::format("{}: no {} column '{}'; the header names: {}", table.path, role, name,
                                  joined(table.header, 1000)));
    }
    return index;
  };
  Columns c;
  c.label = find(options.label(), "label");
  if (options.features().empty()) {
    for (size_t i = 0; i < table.header.size(); ++i) {
      if (static_cast<int64_t>(i) != c.label) c.features.push_back(static_cast<int64_t>(i));
    }
  } else {
    for (const auto& name : options.features()) c.features.push_back(find(name, "feature"));
  }
  const std::set<std::string> categorical(options.categorical().begin(), options.categorical().end());
  for (auto index : c.features) c.categorical.push_back(categorical.count(table.header[static_cast<size_t>(index)]) > 0);
  return c;
}

void check_options(const CsvDatasetOptions& o) {
  if (o.path().empty()) throw ConfigError("csv: path is required (the CSV file)");
  if (o.label().empty()) throw ConfigError("csv: label is required (the name of the label column)");
  std::set<std::string> seen;
  for (const auto& name : o.features()) {
    if (name == o.label()) throw ConfigError(fmt::format("csv: the label column '{}' cannot also be a feature", name));
    if (!seen.insert(name).second) throw ConfigError(fmt::format("csv: features names '{}' twice", name));
  }
  for (const auto& name : o.categorical()) {
    if (name == o.label()) {
      throw ConfigError(fmt::format("csv: categorical names the label column '{}'; string labels are mapped to "
                                    "classes without it",
                                    name));
    }
    if (!o.features().empty() && !std::count(o.features().begin(), o.features().end(), name)) {
      throw ConfigError(fmt::format("csv: categorical column '{}' is not among the features ({})", name,
                                    joined(o.features())));
    }
  }
  const bool separate = o.val_fraction() == 0.0 && o.split() == DataSplit::VALIDATION;
  if (separate && o.train_path().empty()) {
    throw ConfigError(fmt::format("csv: split validation with val_fraction 0 takes all of {} as the validation "
                                  "rows and needs train_path, the training file whose rows give the categories, "
                                  "classes and standardization statistics",
                                  o.path()));
  }
  if (!separate && !o.train_path().empty() && o.train_path() != o.path()) {
    throw ConfigError("csv: train_path is only used with split validation and val_fraction 0 (the validation "
                      "split in a file of its own); remove it");
  }
}

}  // namespace

struct CsvDataset::Prepared {
  at::Tensor input;
  at::Tensor target;
  std::vector<std::string> input_names;
  std::vector<std::string> classes;
  at::Tensor mean;
  at::Tensor std;
};

CsvDataset::Prepared CsvDataset::prepare(const CsvDatasetOptions& o) {
  check_options(o);
  const bool separate = o.val_fraction() == 0.0 && o.split() == DataSplit::VALIDATION;
  const CsvTable train_table = read_csv(separate ? o.train_path() : o.path());
  const Columns train_columns = resolve(train_table, o);
  for (const auto& name : o.categorical()) {
    if (o.features().empty() && train_table.column(name) < 0) {
      throw DataError(fmt::format("{}: no categorical column '{}'; the header names: {}", train_table.path, name,
                                  joined(train_table.header, 1000)));
    }
  }
  const auto train_rows =
      split_rows(static_cast<int64_t>(train_table.records.size()), DataSplit::TRAIN, o.val_fraction(), o.split_seed(),
                 "csv " + train_table.path);

  // What the training rows define: categories, classes, statistics.
  const size_t num_features = train_columns.features.size();
  std::vector<std::vector<std::string>> categories(num_features);
  std::vector<std::vector<double>> values(num_features);
  bool integer_labels = o.label_type() == LabelType::CLASS;
  std::set<std::string> label_set;
  // Row by row, so the first malformed cell reported is the first in the file.
  std::vector<std::set<std::string>> seen(num_features);
  for (auto row : train_rows) {
    const auto& record = train_table.records[static_cast<size_t>(row)];
    for (size_t f = 0; f < num_features; ++f) {
      const int64_t column = train_columns.features[f];
      const auto& text = record.cells[static_cast<size_t>(column)];
      if (train_columns.categorical[f]) {
        seen[f].insert(text);
        continue;
      }
      double x = 0;
      if (!parse_double(text, &x)) {
        throw DataError(fmt::format("{}: expected a number, got \"{}\" (name the column in categorical to one-hot "
                                    "encode it)",
                                    cell_at(train_table, record, column), text));
      }
      values[f].push_back(x);
    }
    const auto& text = record.cells[static_cast<size_t>(train_columns.label)];
    if (trimmed(text).empty()) throw DataError(cell_at(train_table, record, train_columns.label) + ": missing label");
    int64_t id = 0;
    if (integer_labels && !parse_int(text, &id)) integer_labels = false;
    if (o.label_type() == LabelType::CLASS) label_set.insert(text);
  }
  for (size_t f = 0; f < num_features; ++f) categories[f].assign(seen[f].begin(), seen[f].end());

  Prepared p;
  std::vector<double> mean(num_features, 0.0), stdev(num_features, 1.0);
  std::vector<double> numeric_mean, numeric_std;
  for (size_t f = 0; f < num_features; ++f) {
    const auto& name = train_table.header[static_cast<size_t>(train_columns.features[f])];
    if (train_columns.categorical[f]) {
      for (const auto& category : categories[f]) p.input_names.push_back(name + "=" + category);
      continue;
    }
    p.input_names.push_back(name);
    if (!o.standardize()) continue;
    double total = 0;
    for (double x : values[f]) total += x;
    mean[f] = total / static_cast<double>(values[f].size());
    double squares = 0;
    for (double x : values[f]) squares += (x - mean[f]) * (x - mean[f]);
    const double s = std::sqrt(squares / static_cast<double>(values[f].size()));
    stdev[f] = s > 0 ? s : 1.0;
    numeric_mean.push_back(mean[f]);
    numeric_std.push_back(stdev[f]);
  }
  if (o.standardize() && !numeric_mean.empty()) {
    const auto n = static_cast<int64_t>(numeric_mean.size());
    p.mean = torch::tensor(numeric_mean, torch::kFloat64).reshape({n});
    p.std = torch::tensor(numeric_std, torch::kFloat64).reshape({n});
  }
  const bool string_labels = o.label_type() == LabelType::CLASS && !integer_labels;
  if (string_labels) p.classes.assign(label_set.begin(), label_set.end());

  // The rows of the split asked for, encoded.
  CsvTable other;
  if (separate) other = read_csv(o.path());
  const CsvTable& table = separate ? other : train_table;
  const Columns columns = separate ? resolve(table, o) : train_columns;
  if (separate) {
    for (size_t f = 0; f < num_features; ++f) {
      if (columns.categorical[f] != train_columns.categorical[f] ||
          table.header[static_cast<size_t>(columns.features[f])] !=
              train_table.header[static_cast<size_t>(train_columns.features[f])]) {
        throw DataError(fmt::format("{}: its feature columns ({}) differ from those of the training file {}; list "
                                    "them in features",
                                    table.path, joined(table.header, 1000), train_table.path));
      }
    }
  }
  const auto rows = o.split() == DataSplit::TRAIN
                        ? train_rows
                        : split_rows(static_cast<int64_t>(table.records.size()), DataSplit::VALIDATION,
                                     o.val_fraction(), o.split_seed(), "csv " + table.path);
  const auto num_rows = static_cast<int64_t>(rows.size());
  const auto width = static_cast<int64_t>(p.input_names.size());
  p.input = torch::empty({num_rows, width}, torch::kFloat32);
  p.target = torch::empty({num_rows}, o.label_type() == LabelType::FLOAT ? torch::kFloat32 : torch::kInt64);
  float* in = p.input.data_ptr<float>();
  for (int64_t r = 0; r < num_rows; ++r) {
    const auto& record = table.records[static_cast<size_t>(rows[static_cast<size_t>(r)])];
    float* out = in + r * width;
    for (size_t f = 0; f < num_features; ++f) {
      const int64_t column = columns.features[f];
      const auto& text = record.cells[static_cast<size_t>(column)];
      if (columns.categorical[f]) {
        const auto& known = categories[f];
        const auto it = std::lower_bound(known.begin(), known.end(), text);
        if (it == known.end() || *it != text) {
          throw DataError(fmt::format("{}: category \"{}\" does not occur in the training rows of {} (known: {})",
                                      cell_at(table, record, column), text, train_table.path, joined(known)));
        }
        std::fill(out, out + known.size(), 0.0f);
        out[it - known.begin()] = 1.0f;
        out += known.size();
        continue;
      }
      double x = 0;
      if (!parse_double(text, &x)) {
        throw DataError(fmt::format("{}: expected a number, got \"{}\" (name the column in categorical to one-hot "
                                    "encode it)",
                                    cell_at(table, record, column), text));
      }
      *out++ = static_cast<float>((x - mean[f]) / stdev[f]);
    }
    const auto& text = record.cells[static_cast<size_t>(columns.label)];
    const auto where = [&] { return cell_at(table, record, columns.label); };
    if (trimmed(text).empty()) throw DataError(where() + ": missing label");
    if (o.label_type() == LabelType::FLOAT) {
      double y = 0;
      if (!parse_double(text, &y)) {
        throw DataError(fmt::format("{}: expected a number as the label (label_type float), got \"{}\"", where(), text));
      }
      p.target.data_ptr<float>()[r] = static_cast<float>(y);
    } else if (string_labels) {
      const auto it = std::lower_bound(p.classes.begin(), p.classes.end(), text);
      if (it == p.classes.end() || *it != text) {
        throw DataError(fmt::format("{}: label \"{}\" does not occur in the training rows of {} (classes: {})", where(),
                                    text, train_table.path, joined(p.classes)));
      }
      p.target.data_ptr<int64_t>()[r] = it - p.classes.begin();
    } else {
      int64_t id = 0;
      if (!parse_int(text, &id)) {
        throw DataError(fmt::format("{}: expected an integer class id (the training labels are integers), got \"{}\"",
                                    where(), text));
      }
      if (id < 0) throw DataError(fmt::format("{}: class ids must be >= 0, got {}", where(), id));
      p.target.data_ptr<int64_t>()[r] = id;
    }
  }
  return p;
}

CsvDataset::CsvDataset(const CsvDatasetOptions& options) : CsvDataset(prepare(options)) {}

CsvDataset::CsvDataset(Prepared p)
    : TensorDataset(std::move(p.input), std::move(p.target)),
      input_names_(std::move(p.input_names)),
      classes_(std::move(p.classes)),
      mean_(std::move(p.mean)),
      std_(std::move(p.std)) {}

std::map<std::string, at::Tensor> CsvDataset::state_tensors() const {
  if (!mean_.defined()) return {};
  return {{"mean", mean_}, {"std", std_}};
}

}  // namespace tempo
