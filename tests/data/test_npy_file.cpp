// map_npy: files NumPy wrote (several dtypes, shapes and format versions), compared exactly, and
// hand-made bytes for every error, so those need no Python.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>

#include "tempo/data/npy_dataset.h"
#include "tempo/data/npy_file.h"
#include "tempo/errors/error.h"
#include "support/python.h"
#include "support/temp_dir.h"

namespace {

// A .npy file of format `major`.0 with header `dict` padded to 64 bytes, then `data`.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1, bool pad = true) {
  const size_t length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  if (pad) {
    while ((8 + length_bytes + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
  }
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < length_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string write_bytes(const tempo::testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

std::string error_of(const std::string& path) {
  try {
    tempo::map_npy(path);
  } catch (const tempo::DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("npy: hand-made files of each version map to the right tensor; the mapping outlives the file's name") {
    tempo::testing::TempDir dir;
    for (int major : {1, 2, 3}) {
      CAPTURE(major);
      const auto path = write_bytes(dir, "v.npy",
                                    npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                              floats({1.5f, -2, 3, 4}), major));
      auto tensor = tempo::map_npy(path);
      std::filesystem::remove(path);  // mapped: still readable
      CHECK(torch::equal(tensor, torch::tensor({{1.5f, -2.0f}, {3.0f, 4.0f}})));
      tensor[0][0] = 7.0f;  // copy-on-write: allowed, and the file is untouched
    }
    // Python 2's long suffix and an unpadded, unaligned header still read (copied, not mapped).
    const auto old = write_bytes(dir, "old.npy",
                                 npy_bytes("{'descr':'<i8','fortran_order':False,'shape':(3L,)}",
                                           std::string("\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0", 24),
                                           1, false));
    CHECK(torch::equal(tempo::map_npy(old), torch::tensor({1, 2, 3}, torch::kInt64)));
  }

  TEST_CASE("npy: every malformed file is an error naming the file and the fault") {
    tempo::testing::TempDir dir;
    const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    auto check = [&](const std::string& bytes, const std::string& message) {
      const auto path = write_bytes(dir, "bad.npy", bytes);
      CHECK(error_of(path) == path + ": " + message);
    };
    check("\x93NUM", "truncated: 4 bytes, too short for a .npy file");
    check("PK\x03\x04 not numpy at all", "not a .npy file: bad magic (expected \\x93NUMPY at the start)");
    auto version = npy_bytes(good_dict, floats({1, 2}));
    version[6] = 4;
    check(version, "unsupported .npy format version 4.0 (1.0, 2.0 and 3.0 are read)");
    check(npy_bytes(good_dict, floats({1, 2})).substr(0, 40),
          "truncated: the .npy header is 118 bytes long but the file has 40 bytes");
    check(npy_bytes(good_dict, floats({1})), "truncated: shape [2] of <f4 needs 8 bytes of data, the file holds 4");
    check(npy_bytes(good_dict, floats({1, 2, 3})),
          "size mismatch: 4 bytes of data past the 8 that shape [2] of <f4 needs");
    auto check_start = [&](const std::string& bytes, const std::string& start) {
      const auto path = write_bytes(dir, "bad.npy", bytes);
      CHECK(error_of(path).rfind(path + ": " + start, 0) == 0);
    };
    check_start(npy_bytes("[1, 2]", ""), "the .npy header is not a dict: \"[1, 2]  ");
    check(npy_bytes("{'descr': '<f4', 'shape': (2,)}", floats({1, 2})),
          "the .npy header has no 'fortran_order' (it needs descr, fortran_order and shape)");
    check(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", floats({1, 2})),
          "the array is in Fortran order (fortran_order: True); save a C-order array "
          "(np.save(path, np.ascontiguousarray(arr)))");
    check(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", floats({1, 2})),
          "dtype '>f4' is big-endian; tempo reads little-endian .npy files (save arr.astype('<f4'))");
    check(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", floats({1, 2})),
          "unsupported dtype '<c8' (supported: <f2 <f4 <f8 <i2 <i4 <i8 |i1 |u1 |b1)");
    check(npy_bytes("{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}", std::string(12, 'a')),
          "unsupported dtype '<U3' (supported: <f2 <f4 <f8 <i2 <i4 <i8 |i1 |u1 |b1)");
    check_start(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", floats({1, 2})),
                "unsupported dtype: a structured or non-string descr in \"{'descr': [('a', '<f4')], 'fortran_order': "
                "False, 'shape': (2,)}  ");
    check(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", std::string("\x01\x02", 2)),
          "bool element 1 holds byte 2, not 0 or 1");
    CHECK(error_of(dir / "missing.npy") == dir / "missing.npy" + ": cannot open the .npy file (No such file or directory)");
    const auto open = write_bytes(dir, "open.npy", npy_bytes("{'descr': '<f4", ""));
    CHECK(error_of(open).rfind(open + ": the .npy header is not a Python dict literal (an unclosed string at offset", 0) == 0);
  }

  TEST_CASE("npy dataset: inputs and targets must agree on the samples; a split takes rows of both") {
    tempo::testing::TempDir dir;
    const auto x = write_bytes(dir, "x.npy",
                               npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 1), }",
                                         floats({0, 1, 2, 3})));
    const auto y3 = write_bytes(dir, "y3.npy",
                                npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "\x01\x02\x03"));
    CHECK_THROWS_WITH_AS(tempo::load_npy_dataset(tempo::NpyDatasetOptions().inputs(x).targets(y3)),
                         (x + " has shape [4, 1] but " + y3 +
                          " has shape [3]: inputs and targets must have the same first dimension (one row per sample)")
                             .c_str(),
                         tempo::DataError);
    const auto y = write_bytes(dir, "y.npy",
                               npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", std::string("\x00\x01\x02\x03", 4)));
    const auto all = tempo::load_npy_dataset(tempo::NpyDatasetOptions().inputs(x).targets(y));
    REQUIRE(all->size() == 4);
    const auto batch = all->get_batch({3, 0});
    CHECK(torch::equal(batch.input, torch::tensor({{3.0f}, {0.0f}})));
    CHECK(torch::equal(batch.target, torch::tensor({3, 0}, torch::kUInt8)));
    auto split = tempo::NpyDatasetOptions().inputs(x).targets(y).val_fraction(0.5).split_seed(1);
    const auto train = tempo::load_npy_dataset(split);
    const auto val = tempo::load_npy_dataset(split.split(tempo::DataSplit::VALIDATION));
    CHECK(train->size() == 2);
    CHECK(val->size() == 2);
    for (const auto& part : {train, val}) {  // inputs and targets stay paired
      const auto b = part->get_batch({0, 1});
      CHECK(torch::equal(b.input.view({-1}).to(torch::kUInt8), b.target));
    }
    CHECK_THROWS_AS(train->get_batch({2}), tempo::DataError);
  }

  TEST_CASE("npy: files written by NumPy read back exactly, every supported dtype and format version") {
    if (tempo::testing::skip_without_python_module("numpy")) return;
    tempo::testing::TempDir dir;
    const std::string script =
        "import numpy as np, sys\n"
        "d = sys.argv[1]\n"
        "base = np.arange(24).reshape(2, 3, 4)\n"
        "for name in ['f2', 'f4', 'f8', 'i2', 'i4', 'i8', 'i1', 'u1']:\n"
        "    np.save(f'{d}/{name}.npy', (base * (0.25 if name[0] == 'f' else 1)).astype(name))\n"
        "np.save(f'{d}/b1.npy', base % 3 == 0)\n"
        "np.save(f'{d}/scalar.npy', np.float64(2.5))\n"
        "np.save(f'{d}/empty.npy', np.zeros((0, 5), np.float32))\n"
        "np.save(f'{d}/neg.npy', np.array([-128, -1, 127], np.int8))\n"
        "for v in [(2, 0), (3, 0)]:\n"
        "    with open(f'{d}/v{v[0]}.npy', 'wb') as f: np.lib.format.write_array(f, base.astype('<f4'), version=v)\n"
        "np.save(f'{d}/fortran.npy', np.asfortranarray(base.astype(np.float32)))\n"
        "np.save(f'{d}/big.npy', base.astype('>f8'))\n";
    std::ofstream(dir / "make.py") << script;
    REQUIRE(std::system((tempo::testing::kPython + " " + dir / "make.py" + " " + dir.path()).c_str()) == 0);
    const auto base = torch::arange(24, torch::kInt64).reshape({2, 3, 4});
    const std::vector<std::pair<std::string, at::ScalarType>> types = {
        {"f2", torch::kHalf},  {"f4", torch::kFloat32}, {"f8", torch::kFloat64}, {"i2", torch::kInt16},
        {"i4", torch::kInt32}, {"i8", torch::kInt64},   {"i1", torch::kInt8},    {"u1", torch::kUInt8}};
    for (const auto& [name, dtype] : types) {
      CAPTURE(name);
      const auto tensor = tempo::map_npy(dir / name + ".npy");
      const auto expected = name[0] == 'f' ? (base.to(torch::kFloat64) * 0.25).to(dtype) : base.to(dtype);
      CHECK((tensor.scalar_type() == dtype));
      CHECK(torch::equal(tensor, expected));
    }
    CHECK(torch::equal(tempo::map_npy(dir / "b1.npy"), base.remainder(3).eq(0)));
    const auto scalar = tempo::map_npy(dir / "scalar.npy");
    CHECK(scalar.dim() == 0);
    CHECK(scalar.item<double>() == 2.5);
    CHECK(tempo::map_npy(dir / "empty.npy").sizes() == torch::IntArrayRef({0, 5}));
    CHECK(torch::equal(tempo::map_npy(dir / "neg.npy"), torch::tensor({-128, -1, 127}, torch::kInt8)));
    for (const std::string v : {"v2", "v3"}) CHECK(torch::equal(tempo::map_npy(dir / v + ".npy"), base.to(torch::kFloat32)));
    CHECK(error_of(dir / "fortran.npy").find("fortran_order: True") != std::string::npos);
    CHECK(error_of(dir / "big.npy") == dir / "big.npy" + ": dtype '>f8' is big-endian; tempo reads little-endian .npy "
                                                         "files (save arr.astype('<f8'))");
  }
}
