// CsvDataset: RFC 4180 parsing, one-hot categories, labels, standardization on the training rows
// only, the seeded split, and every message naming file:line and the column.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fstream>
#include <numeric>
#include <set>

#include "tempo/data/csv_dataset.h"
#include "tempo/data/csv_table.h"
#include "tempo/errors/error.h"
#include "support/temp_dir.h"

namespace {

using tempo::CsvDataset;
using tempo::CsvDatasetOptions;
using tempo::DataSplit;

std::string write(const tempo::testing::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

std::string error_of(const CsvDatasetOptions& options) {
  try {
    CsvDataset dataset(options);
  } catch (const tempo::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("csv: quoted fields, \"\" escapes, CRLF, a BOM and blank lines at the end") {
    const auto table = tempo::parse_csv("\xEF\xBB\xBF" "a,\"b,c\",d\r\n"
                                        "1,\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n"
                                        "\"\",x,\r\n\r\n\n",
                                        "t.csv");
    CHECK(table.header == std::vector<std::string>{"a", "b,c", "d"});
    REQUIRE(table.records.size() == 2);
    CHECK(table.records[0].cells == std::vector<std::string>{"1", "say \"hi\"", "two\r\nlines"});
    CHECK(table.records[0].lines == std::vector<int64_t>{2, 2, 2});
    CHECK(table.records[1].cells == std::vector<std::string>{"", "x", ""});
    CHECK(table.records[1].lines == std::vector<int64_t>{4, 4, 4});  // the quoted line break counts

    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,b\n1,\"open\n2,3\n", "t.csv"),
                         "t.csv:2: column 2: the quoted field is never closed", tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,b\n1,\"x\"y\n", "t.csv"),
                         "t.csv:2: column 2: text after the closing quote of a quoted field (a quote inside a field "
                         "is written \"\")",
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,b\n1,x\"y\n", "t.csv"),
                         "t.csv:2: column 2: a quote inside an unquoted field (quote the whole field and write the "
                         "quote as \"\")",
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,b\n1,2\n\n3,4,5\n", "t.csv"), "t.csv:4: 3 fields, but the header has 2 columns",
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,a\n", "t.csv"), "t.csv:1: column 2 of the header repeats the name 'a'",
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("a,\n", "t.csv"), "t.csv:1: column 2 of the header has no name",
                         tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::parse_csv("\n\r\n", "t.csv"),
                         "t.csv: the CSV file is empty; expected a header row naming the columns", tempo::DataError);
    CHECK_THROWS_WITH_AS(tempo::read_csv("/nonexistent/t.csv"), "/nonexistent/t.csv: cannot open the CSV file for reading",
                         tempo::DataError);
  }

  TEST_CASE("csv: one-hot categories in sorted order, string labels, standardization by hand") {
    tempo::testing::TempDir dir;
    // x: 1, 2, 3, 6 -> mean 3, population std sqrt((4 + 1 + 0 + 9) / 4) = sqrt(3.5).
    // c: red, blue, red, green -> categories blue, green, red. k is constant: std 1, centred only.
    const auto path = write(dir, "t.csv",
                            "x,c,k,y\r\n"
                            "1,red,5,cat\r\n"
                            "2,blue,5,dog\r\n"
                            "3,\"red\",5,cat\r\n"
                            "6,green,5,\"bird\"\r\n");
    CsvDataset data(CsvDatasetOptions().path(path).label("y").categorical({"c"}).val_fraction(0));
    CHECK(data.input_names() == std::vector<std::string>{"x", "c=blue", "c=green", "c=red", "k"});
    CHECK(data.classes() == std::vector<std::string>{"bird", "cat", "dog"});
    REQUIRE(data.size() == 4);
    const auto batch = data.get_batch(all_rows(4));
    const double s = std::sqrt(3.5);
    const auto expected = torch::tensor({-2 / s, 0.0, 0.0, 1.0, 0.0,    //
                                         -1 / s, 1.0, 0.0, 0.0, 0.0,    //
                                         0 / s, 0.0, 0.0, 1.0, 0.0,     //
                                         3 / s, 0.0, 1.0, 0.0, 0.0},
                                        torch::kFloat64)
                              .to(torch::kFloat32)
                              .reshape({4, 5});
    CHECK(torch::equal(batch.input, expected));
    CHECK(torch::equal(batch.target, torch::tensor({1, 2, 1, 0}, torch::kInt64)));
    CHECK(torch::equal(data.mean(), torch::tensor({3.0, 5.0}, torch::kFloat64)));
    CHECK(torch::equal(data.std(), torch::tensor({s, 1.0}, torch::kFloat64)));
    const auto state = data.state_tensors();
    REQUIRE(state.size() == 2);
    CHECK(torch::equal(state.at("mean"), data.mean()));

    // Without standardization the numbers are as written and nothing is state.
    CsvDataset raw(CsvDatasetOptions().path(path).label("y").features({"k", "x"}).standardize(false).val_fraction(0));
    CHECK(raw.input_names() == std::vector<std::string>{"k", "x"});
    CHECK(torch::equal(raw.get_batch({3}).input, torch::tensor({{5.0f, 6.0f}})));
    CHECK(raw.state_tensors().empty());

    // Integer labels stay themselves; float labels are regression targets.
    const auto numbers = write(dir, "n.csv", "a,y\n1,3\n2,0\n4,+7\n");
    CsvDataset ints(CsvDatasetOptions().path(numbers).label("y").val_fraction(0));
    CHECK(ints.classes().empty());
    CHECK(torch::equal(ints.get_batch({0, 1, 2}).target, torch::tensor({3, 0, 7}, torch::kInt64)));
    CsvDataset floats(
        CsvDatasetOptions().path(numbers).label("y").label_type(tempo::LabelType::FLOAT).val_fraction(0));
    CHECK(torch::equal(floats.get_batch({0, 1, 2}).target, torch::tensor({3.0f, 0.0f, 7.0f})));
  }

  TEST_CASE("csv: the split is seeded, deterministic and disjoint; statistics come from the training rows only") {
    tempo::testing::TempDir dir;
    std::string text = "id,x,y\n";
    for (int i = 0; i < 50; ++i) text += std::to_string(i) + "," + std::to_string(i * i) + "," + std::to_string(i % 3) + "\n";
    const auto path = write(dir, "t.csv", text);
    auto options = CsvDatasetOptions().path(path).label("y").features({"id", "x"}).val_fraction(0.2).split_seed(9);
    auto ids = [](const CsvDataset& d) {
      // id is feature 0: undo the standardization to read it back.
      const auto input = d.get_batch(all_rows(d.size())).input.select(1, 0).to(torch::kFloat64);
      const auto back = (input * d.std()[0] + d.mean()[0]).round().to(torch::kInt64);
      std::vector<int64_t> out(back.data_ptr<int64_t>(), back.data_ptr<int64_t>() + back.numel());
      return out;
    };
    CsvDataset train(options), again(options), val(CsvDatasetOptions(options).split(DataSplit::VALIDATION));
    CHECK(train.size() == 40);
    CHECK(val.size() == 10);
    const auto train_ids = ids(train), val_ids = ids(val);
    CHECK(train_ids == ids(again));
    std::set<int64_t> all(train_ids.begin(), train_ids.end());
    for (auto id : val_ids) CHECK(all.insert(id).second);  // disjoint
    CHECK(all.size() == 50);                                // and together every row
    CHECK(std::is_sorted(train_ids.begin(), train_ids.end()));
    // Both splits carry the training rows' statistics.
    double mean = 0, squares = 0;
    for (auto id : train_ids) mean += static_cast<double>(id) / 40.0;
    for (auto id : train_ids) squares += (static_cast<double>(id) - mean) * (static_cast<double>(id) - mean);
    CHECK(train.mean()[0].item<double>() == doctest::Approx(mean).epsilon(1e-12));
    CHECK(train.std()[0].item<double>() == doctest::Approx(std::sqrt(squares / 40.0)).epsilon(1e-12));
    CHECK(torch::equal(val.mean(), train.mean()));
    CHECK(torch::equal(val.std(), train.std()));
    // Another seed, another split.
    CsvDataset other(CsvDatasetOptions(options).split_seed(10));
    CHECK(ids(other) != train_ids);

    // A validation file of its own takes its statistics from train_path.
    const auto val_path = write(dir, "v.csv", "id,x,y\n100,1,2\n");
    CsvDataset separate(CsvDatasetOptions().path(val_path).train_path(path).label("y").features({"id", "x"})
                            .split(DataSplit::VALIDATION).val_fraction(0));
    CsvDataset whole(CsvDatasetOptions().path(path).label("y").features({"id", "x"}).val_fraction(0));
    CHECK(torch::equal(separate.mean(), whole.mean()));
    CHECK(separate.get_batch({0}).input[0][0].item<float>() ==
          static_cast<float>((100 - whole.mean()[0].item<double>()) / whole.std()[0].item<double>()));
  }

  TEST_CASE("csv: every malformed cell names the file, the line and the column") {
    tempo::testing::TempDir dir;
    const auto path = write(dir, "bad.csv", "x,c,y\n1,a,0\n2,b,1\n\n3.5e,a,0\n");
    const auto base = CsvDatasetOptions().path(path).label("y").val_fraction(0).categorical({"c"});
    CHECK(error_of(base) == path + ":5: column 1 'x': expected a number, got \"3.5e\" (name the column in categorical "
                                  "to one-hot encode it)");
    CHECK(error_of(CsvDatasetOptions().path(path).label("y").val_fraction(0)) ==
          path + ":2: column 2 'c': expected a number, got \"a\" (name the column in categorical to one-hot encode it)");
    const auto no_label = write(dir, "nolabel.csv", "x,y\n1,0\n2, \n");
    CHECK(error_of(CsvDatasetOptions().path(no_label).label("y").val_fraction(0)) ==
          no_label + ":3: column 2 'y': missing label");
    const auto nan = write(dir, "nan.csv", "x,y\nnan,0\n");
    CHECK(error_of(CsvDatasetOptions().path(nan).label("y").val_fraction(0)) ==
          nan + ":2: column 1 'x': expected a number, got \"nan\" (name the column in categorical to one-hot encode it)");
    const auto count = write(dir, "count.csv", "x,y\n1,0\n2\n");
    CHECK(error_of(CsvDatasetOptions().path(count).label("y").val_fraction(0)) ==
          count + ":3: 1 fields, but the header has 2 columns");
    CHECK(error_of(CsvDatasetOptions().path(path).label("z").val_fraction(0)) ==
          path + ": no label column 'z'; the header names: x, c, y");
    CHECK(error_of(CsvDatasetOptions().path(path).label("y").features({"x", "q"}).val_fraction(0)) ==
          path + ": no feature column 'q'; the header names: x, c, y");

    // A validation file: unknown categories, labels and non-integer ids are errors, not zeros.
    const auto train = write(dir, "train.csv", "x,c,y\n1,a,cat\n2,b,dog\n");
    const auto val = write(dir, "val.csv", "x,c,y\n1,a,cat\n1,z,cat\n");
    auto val_options = CsvDatasetOptions().path(val).train_path(train).label("y").categorical({"c"}).val_fraction(0)
                           .split(DataSplit::VALIDATION);
    CHECK(error_of(val_options) == val + ":3: column 2 'c': category \"z\" does not occur in the training rows of " +
                                       train + " (known: a, b)");
    const auto val2 = write(dir, "val2.csv", "x,c,y\n1,a,cow\n");
    CHECK(error_of(CsvDatasetOptions(val_options).path(val2)) ==
          val2 + ":2: column 3 'y': label \"cow\" does not occur in the training rows of " + train + " (classes: cat, dog)");
    const auto int_train = write(dir, "itrain.csv", "x,y\n1,0\n2,1\n");
    const auto int_val = write(dir, "ival.csv", "x,y\n1,1\n2,one\n");
    CHECK(error_of(CsvDatasetOptions().path(int_val).train_path(int_train).label("y").val_fraction(0)
                       .split(DataSplit::VALIDATION)) ==
          int_val + ":3: column 2 'y': expected an integer class id (the training labels are integers), got \"one\"");
    const auto negative = write(dir, "neg.csv", "x,y\n1,-1\n");
    CHECK(error_of(CsvDatasetOptions().path(negative).label("y").val_fraction(0)) ==
          negative + ":2: column 2 'y': class ids must be >= 0, got -1");
    const auto float_label = write(dir, "fl.csv", "x,y\n1,1.5\n2,abc\n");
    CHECK(error_of(CsvDatasetOptions().path(float_label).label("y").label_type(tempo::LabelType::FLOAT).val_fraction(0)) ==
          float_label + ":3: column 2 'y': expected a number as the label (label_type float), got \"abc\"");

    // Options that contradict each other.
    CHECK(error_of(CsvDatasetOptions().path(val).label("y").val_fraction(0).split(DataSplit::VALIDATION))
              .find("needs train_path") != std::string::npos);
    CHECK(error_of(CsvDatasetOptions().path(val).label("y").features({"y"})) ==
          "csv: the label column 'y' cannot also be a feature");
    CHECK(error_of(CsvDatasetOptions().path(val).label("y").features({"x"}).categorical({"c"})) ==
          "csv: categorical column 'c' is not among the features (x)");
    CHECK(error_of(CsvDatasetOptions().path(train).label("y").val_fraction(0.9)) ==
          "csv " + train + ": the train split is empty (2 rows, val_fraction 0.9); give more rows or another val_fraction");
  }

  TEST_CASE("csv: the saved statistics must match this run's training rows, name for name") {
    tempo::testing::TempDir dir;
    const auto path = write(dir, "t.csv", "x,y\n1,0\n3,1\n");
    CsvDataset data(CsvDatasetOptions().path(path).label("y").val_fraction(0));
    auto saved = data.state_tensors();
    CHECK_NOTHROW(data.check_state_tensors(saved, "p"));
    saved["mean"] = torch::tensor({2.5}, torch::kFloat64);
    CHECK_THROWS_WITH_AS(data.check_state_tensors(saved, "p"),
                         "p/mean: element 0 was 2.5 in the checkpoint but is 2 for this run's training set: the "
                         "training data (or its preparation) changed since the checkpoint, so the model would see "
                         "differently prepared samples",
                         tempo::CheckpointError);
    saved["mean"] = torch::tensor({2.0f});
    CHECK_THROWS_WITH_AS(data.check_state_tensors(saved, "p"),
                         "p/mean: saved as Float [1] but this run's training set has Double [1]; the training data "
                         "changed since the checkpoint",
                         tempo::CheckpointError);
    saved.erase("mean");
    CHECK_THROWS_WITH_AS(data.check_state_tensors(saved, "p"),
                         "p: the checkpoint holds no 'mean' (it holds: std), which this run's training set depends on; "
                         "it was saved with other data",
                         tempo::CheckpointError);
    CsvDataset raw(CsvDatasetOptions().path(path).label("y").val_fraction(0).standardize(false));
    CHECK_THROWS_WITH_AS(raw.check_state_tensors(data.state_tensors(), "p"),
                         "p: the checkpoint holds 'mean', which this run's training set does not have (it has: none); "
                         "it was saved with other data",
                         tempo::CheckpointError);
  }
}
