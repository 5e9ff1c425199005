// The csv, npy and safetensors parts from YAML: a short `tempo train` run on each, resumed from its
// checkpoint; the csv run's standardization statistics go into the checkpoint and come back (and
// are checked) on resume.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fstream>

#include "configs/config_test_support.h"
#include "tempo/data/csv_dataset.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/state/tree.h"

namespace {

using tempo::testing::run_cli;
using tempo::testing::write_file;

std::string run_yaml(const std::string& dir, const std::string& model, const std::string& train,
                     const std::string& eval = "") {
  return "run_name: tab\nseed: 3\nmax_duration: 4ba\nsave_folder: " + dir + "/ck\nsave_interval: 2ba\n"
         "model:\n  mlp: " + model + "\n"
         "train_loader:\n  " + train + "\n" +
         (eval.empty() ? "" : "eval_loader:\n  " + eval + "\neval_interval: 2ba\n") +
         "optimizers:\n  adam: {lr: 1.0e-2}\n";
}

// Trains 4 batches, then resumes from the latest checkpoint to 6.
void train_and_resume(const std::string& dir, const std::string& yaml) {
  write_file(dir + "/run.yaml", yaml);
  const auto first = run_cli({dir + "/run.yaml"});
  INFO(first.err);
  REQUIRE(first.status == 0);
  CHECK(first.out.find("finished at epoch") != std::string::npos);
  const auto second = run_cli({dir + "/run.yaml", "max_duration=6ba", "run_name=tab2", "save_folder=" + dir + "/ck2",
                               "load_path=" + dir + "/ck/latest-rank0.pt"});
  INFO(second.err);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("resumed from " + dir + "/ck/latest-rank0.pt") != std::string::npos);
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string raw(const at::Tensor& t) {
  return std::string(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel() * t.element_size()));
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("tempo train on a csv file: the statistics are saved in the checkpoint and checked on resume") {
    tempo::testing::TempDir dir;
    std::string text = "height,color,weight,kind\n";
    const char* colors[] = {"red", "green", "blue"};
    for (int i = 0; i < 64; ++i) {
      text += std::to_string(150 + (i * 7) % 40) + "," + colors[i % 3] + "," + std::to_string(50 + (i * 13) % 30) +
              "," + (i % 2 ? "\"tall, light\"" : "short") + "\r\n";
    }
    const auto csv = dir / "data.csv";
    write_file(csv, text);
    const std::string keys = "path: " + csv + ", label: kind, categorical: [color], val_fraction: 0.25, split_seed: 4";
    train_and_resume(dir.path(), run_yaml(dir.path(), "{in_features: 5, hidden: [8], num_classes: 2}",
                                          "csv: {" + keys + ", batch_size: 16, shuffle: true}",
                                          "csv: {" + keys + ", split: validation, batch_size: 16}"));

    const tempo::CsvDataset expected(tempo::CsvDatasetOptions().path(csv).label("kind").categorical({"color"})
                                         .val_fraction(0.25).split_seed(4));
    const auto tree = tempo::read_checkpoint(dir / "ck/latest-rank0.pt");
    const auto state = tempo::tree_dict(tempo::tree_dict(tree, "").at("state"), "state");
    const auto train = tempo::tree_dict(tempo::tree_dict(state.at("dataset_state"), "ds").at("train"), "train");
    const auto saved = tempo::tree_dict(train.at("dataset"), "dataset");
    CHECK(torch::equal(saved.at("mean").toTensor(), expected.mean()));
    CHECK(torch::equal(saved.at("std").toTensor(), expected.std()));
    CHECK(expected.mean().sizes() == torch::IntArrayRef({2}));

    // Other numbers in a training row: resuming refuses rather than train on data scaled otherwise.
    write_file(csv, text.replace(text.find("\r\n") + 2, 3, "199"));
    const auto changed = run_cli({dir / "run.yaml", "max_duration=6ba", "load_path=" + dir / "ck/latest-rank0.pt"});
    CHECK(changed.status != 0);
    CHECK(changed.err.find("state/dataset_state/train/dataset/mean: element 0 was") != std::string::npos);
    CHECK(changed.err.find("the training data (or its preparation) changed since the checkpoint") != std::string::npos);
  }

  TEST_CASE("tempo train on npy files and on a safetensors file, resumed") {
    tempo::testing::TempDir dir;
    const auto x = torch::randn({48, 6}, at::detail::createCPUGenerator(1));
    const auto y = (x.select(1, 0) > 0).to(torch::kInt64);
    write_file(dir / "x.npy", npy("<f4", "(48, 6)", raw(x)));
    write_file(dir / "y.npy", npy("<i8", "(48,)", raw(y)));
    const std::string npy_keys = "inputs: " + dir / "x.npy" + ", targets: " + dir / "y.npy";
    train_and_resume(dir.path(), run_yaml(dir.path(), "{in_features: 6, hidden: [8], num_classes: 2}",
                                          "npy: {" + npy_keys + ", val_fraction: 0.25, batch_size: 8, shuffle: true}",
                                          "npy: {" + npy_keys + ", val_fraction: 0.25, split: validation}"));

    tempo::testing::TempDir dir2;
    tempo::write_safetensors({{"features", x}, {"labels", y}}, {}, dir2 / "d.safetensors");
    const std::string keys = "path: " + dir2 / "d.safetensors" + ", inputs: features, targets: labels";
    train_and_resume(dir2.path(), run_yaml(dir2.path(), "{in_features: 6, hidden: [8], num_classes: 2}",
                                           "safetensors: {" + keys + ", batch_size: 8}"));
    // A missing name lists the names present.
    const auto bad = run_cli({dir2 / "run.yaml", "train_loader.safetensors.targets=label"});
    CHECK(bad.status != 0);
    CHECK(bad.err.find(dir2 / "d.safetensors" + ": no tensor 'label' for the targets (the file holds: features, labels)") !=
          std::string::npos);
  }
}
