// Builds the fuzzers' seed corpus: a checkpoint written by tempo's writer holding every dtype and
// tensor shape the format allows (views sharing a storage, offsets, strides, 0-d, empty) in
// Composer's anatomy, its safetensors twin, and data.pkl of each; plus the real files given on
// the command line (trainer checkpoints from `tempo train`, safetensors from `tempo export`,
// Python torch.save files), sorted by what they are.
//   make_fuzz_seeds OUT_DIR [FILE...]  ->  OUT_DIR/{checkpoint,safetensors,unpickle}/
#include <ATen/ATen.h>
#include <ATen/core/Dict.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/serialization/zip_reader.h"

namespace fs = std::filesystem;

namespace {

c10::impl::GenericDict str_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::IValue synthetic_tree() {
  const auto base = at::arange(24, at::kFloat).reshape({4, 6});
  auto model = str_dict();
  model.insert("fc.weight", base);
  model.insert("fc.bias", at::linspace(-1, 1, 6, at::kFloat));
  model.insert("view.offset", base.narrow(0, 1, 2));   // shares base's storage at an offset
  model.insert("view.strided", base.t());              // non-contiguous strides
  model.insert("scalar", at::scalar_tensor(3.5, at::kDouble));
  model.insert("empty", at::empty({0, 3}, at::kFloat));
  model.insert("half", at::ones({3}, at::kHalf));
  model.insert("bf16", at::ones({2, 2}, at::kBFloat16));
  model.insert("i64", at::arange(5, at::kLong));
  model.insert("i32", at::arange(4, at::kInt));
  model.insert("i16", at::arange(3, at::kShort));
  model.insert("i8", at::arange(3, at::kChar));
  model.insert("u8", at::arange(3, at::kByte));
  model.insert("mask", at::arange(4, at::kLong).remainder(2).to(at::kBool));

  auto param_state = c10::impl::GenericDict(c10::IntType::get(), c10::AnyType::get());
  auto moments = str_dict();
  moments.insert("step", at::scalar_tensor(7.0, at::kFloat));
  moments.insert("exp_avg", at::zeros({4, 6}));
  param_state.insert(0, moments);
  auto group = str_dict();
  group.insert("lr", 0.001);
  group.insert("betas", c10::ivalue::Tuple::create({0.9, 0.999}));
  group.insert("foreach", c10::IValue());
  group.insert("amsgrad", false);
  group.insert("params", c10::List<int64_t>({0, 1}));
  auto groups = c10::impl::GenericList(c10::AnyType::get());
  groups.push_back(group);
  auto adam = str_dict();
  adam.insert("state", param_state);
  adam.insert("param_groups", groups);
  auto optimizers = str_dict();
  optimizers.insert("Adam", adam);

  auto timestamp = str_dict();
  for (const char* key : {"epoch", "batch", "sample", "token", "batch_in_epoch"}) timestamp.insert(key, int64_t{3});
  timestamp.insert("total_wct", 1.25);
  auto state = str_dict();
  state.insert("model", model);
  state.insert("optimizers", optimizers);
  state.insert("schedulers", str_dict());
  state.insert("timestamp", timestamp);
  state.insert("rank_zero_seed", int64_t{42});
  state.insert("run_name", std::string("fuzz-seed-\xc3\xa9"));
  state.insert("metadata", c10::IValue());
  auto rng = str_dict();
  rng.insert("torch", at::arange(16, at::kByte));
  auto rngs = c10::impl::GenericList(c10::AnyType::get());
  rngs.push_back(rng);
  auto root = str_dict();
  root.insert("state", state);
  root.insert("rng", rngs);
  return root;
}

void copy_seed(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// data.pkl of a checkpoint, for the unpickler's corpus.
void extract_pickle(const fs::path& checkpoint, const fs::path& out) {
  tempo::ZipReader zip(checkpoint.string());
  const tempo::ZipEntry* entry = zip.find("data.pkl");
  if (!entry) return;
  std::string bytes(entry->size, '\0');
  zip.read(*entry, bytes.data());
  std::ofstream(out, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR [FILE...]\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* kind : {"checkpoint", "safetensors", "unpickle"}) fs::create_directories(out / kind);

  const auto synthetic = out / "checkpoint" / "synthetic.pt";
  tempo::write_checkpoint(synthetic_tree(), synthetic.string());
  extract_pickle(synthetic, out / "unpickle" / "synthetic.pkl");
  tempo::write_safetensors({{"fc.weight", at::arange(6, at::kFloat).reshape({2, 3})},
                            {"fc.bias", at::ones({2}, at::kBFloat16)},
                            {"mask", at::zeros({3}, at::kBool)}},
                           {{"format", "pt"}}, (out / "safetensors" / "synthetic.safetensors").string());

  for (int i = 2; i < argc; ++i) {
    const fs::path file = argv[i];
    const auto name = std::to_string(i - 1) + "-" + file.filename().string();
    if (file.extension() == ".safetensors") {
      copy_seed(file, out / "safetensors" / name);
      continue;
    }
    try {
      extract_pickle(file, out / "unpickle" / (name + ".pkl"));
      copy_seed(file, out / "checkpoint" / name);
    } catch (const tempo::CheckpointError& e) {
      std::fprintf(stderr, "make_fuzz_seeds: skipping %s: %s\n", file.c_str(), e.what());
    }
  }
  return 0;
}
