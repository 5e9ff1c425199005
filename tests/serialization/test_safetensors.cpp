#include "tempo/serialization/safetensors.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tempo/errors/error.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace tempo;
using tempo::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string u64_le(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out;
}

// A complete file around `header` (unpadded) and `data_size` zero bytes of data.
std::string file_with(const std::string& header, std::size_t data_size) {
  return u64_le(header.size()) + header + std::string(data_size, '\0');
}

// Reading `bytes` must fail with a CheckpointError whose message contains `expected`.
void check_rejected(const std::string& bytes, const std::string& expected) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  try {
    read_safetensors(path);
    FAIL("accepted a malformed file, expected: " << expected);
  } catch (const CheckpointError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(expected) != std::string::npos);
  }
}

// The values tests/python/safetensors_interop.py expects (its expected()).
NamedTensors interop_tensors() {
  return {
      {"f64", torch::arange(6, torch::kDouble).reshape({2, 3}) / 4},
      {"f32", torch::tensor({1.5f, -2.25f, 3.0f})},
      {"f16", torch::tensor({0.5, -1.0}).to(torch::kHalf)},
      {"bf16", torch::tensor({1.0, -3.5}).to(torch::kBFloat16)},
      {"i64", torch::tensor({-(int64_t{1} << 40), int64_t{7}})},
      {"i32", torch::tensor({1, -2, 3, -4}, torch::kInt).reshape({2, 2})},
      {"i16", torch::tensor({-300, 300}).to(torch::kShort)},
      {"i8", torch::tensor({-5, 5}).to(torch::kChar)},
      {"u8", torch::tensor({0, 255}).to(torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.25f)},
      {"empty", torch::zeros({0, 3})},
      {"transposed", torch::arange(6, torch::kFloat).reshape({2, 3}).t()},
      {"layer.\u00fc", torch::tensor({int64_t{42}})},
  };
}
const std::map<std::string, std::string> kInteropMetadata = {{"format", "pt"}, {"note", "h\u00e9llo \"q\"\n"}};

void check_same(const NamedTensors& got, const NamedTensors& want) {
  REQUIRE(got.size() == want.size());
  for (const auto& entry : want) {
    const std::string& name = entry.first;  // not a structured binding: lambdas cannot capture those in C++17
    const at::Tensor& expected = entry.second;
    const auto it = std::find_if(got.begin(), got.end(), [&](const auto& p) { return p.first == name; });
    REQUIRE_MESSAGE(it != got.end(), name);
    const at::Tensor& t = it->second;
    INFO(name);
    CHECK(t.device().is_cpu());
    CHECK(t.is_contiguous());
    CHECK(std::string(c10::toString(t.scalar_type())) == c10::toString(expected.scalar_type()));
    CHECK(t.sizes().vec() == expected.sizes().vec());
    CHECK(torch::equal(t, expected.cpu()));
  }
}

// Exit status of tests/python/safetensors_interop.py with `args`; 77 means torch is missing there.
int run_interop_script(const std::string& args) {
  const std::string command =
      tempo::testing::kPython + " " + std::string(TEMPO_SOURCE_DIR) + "/tests/python/safetensors_interop.py " + args;
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("safetensors round trip keeps every dtype, shape, order and the metadata") {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    NamedTensors tensors = interop_tensors();
    tensors.push_back({"empty_i8", torch::empty({2, 0}, torch::kChar)});
    tensors.push_back({"bool_scalar", torch::tensor(true)});
    tensors.push_back({"big", torch::randn({37, 41}, torch::kDouble)});
    tensors.push_back({"strided", torch::arange(20, torch::kLong).slice(0, 1, 20, 3)});
    tensors.push_back({"name \"with\" \\ and \x01", torch::ones({1})});
    std::map<std::string, std::string> metadata = kInteropMetadata;
    metadata["\x7f\t"] = "";
    write_safetensors(tensors, metadata, path);

    std::map<std::string, std::string> read_metadata{{"stale", "x"}};
    const NamedTensors back = read_safetensors(path, &read_metadata);
    check_same(back, tensors);
    CHECK(read_metadata == metadata);
    for (std::size_t i = 0; i < back.size(); ++i) CHECK(back[i].first == tensors[i].first);  // header order kept
    CHECK(back[10].second.dim() == 0);

    const std::string bytes = read_bytes(path);
    CHECK((8 + static_cast<uint8_t>(bytes[0]) + 256 * static_cast<uint8_t>(bytes[1])) % 8 == 0);
    for (const auto& entry : fs::directory_iterator(dir.path()))  // the temporary file is gone
      CHECK(entry.path().filename().string() == "model.safetensors");
  }

  TEST_CASE("safetensors without tensors or metadata is a valid file") {
    TempDir dir;
    const std::string path = dir.file("empty.safetensors");
    write_safetensors({}, {}, path);
    CHECK(read_bytes(path) == u64_le(8) + "{}      ");
    std::map<std::string, std::string> metadata{{"stale", "x"}};
    CHECK(read_safetensors(path, &metadata).empty());
    CHECK(metadata.empty());
  }

  TEST_CASE("safetensors bytes of a tiny file are exactly as specified") {
    TempDir dir;
    const std::string path = dir.file("tiny.safetensors");
    write_safetensors({{"a", torch::tensor({1.0f, 2.0f})}}, {{"k", "v"}}, path);
    // 79 bytes of JSON, one space of padding to 80 = 0x50; then 1.0f and 2.0f little-endian.
    const std::string header = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    REQUIRE(header.size() == 79);
    const std::string expected =
        std::string("\x50\0\0\0\0\0\0\0", 8) + header + " " + std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
    CHECK(read_bytes(path) == expected);
  }

  TEST_CASE("safetensors overwrites an existing file atomically") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    write_safetensors({{"x", torch::ones({3})}}, {}, path);
    write_safetensors({{"y", torch::zeros({2}, torch::kInt)}}, {}, path);
    const auto back = read_safetensors(path);
    REQUIRE(back.size() == 1);
    CHECK(back[0].first == "y");
  }

  TEST_CASE("safetensors writer rejects what it cannot write and leaves no temporary file") {
    TempDir dir;
    const std::string path = dir.file("w.safetensors");
    CHECK_THROWS_AS(write_safetensors({{"a", torch::ones({1})}, {"a", torch::ones({1})}}, {}, path), CheckpointError);
    CHECK_THROWS_AS(write_safetensors({{"__metadata__", torch::ones({1})}}, {}, path), CheckpointError);
    CHECK_THROWS_AS(write_safetensors({{"c", torch::ones({1}, torch::kComplexFloat)}}, {}, path), CheckpointError);
    CHECK_THROWS_AS(write_safetensors({{"u", at::Tensor()}}, {}, path), CheckpointError);
    CHECK_THROWS_AS(write_safetensors({{"\xff", torch::ones({1})}}, {}, path), CheckpointError);
    CHECK_THROWS_AS(write_safetensors({}, {{"k", "\xc3"}}, path), CheckpointError);
    // Fails after the temporary file exists: a meta tensor has no bytes to copy.
    CHECK_THROWS_AS(write_safetensors({{"ok", torch::ones({4})}, {"m", torch::empty({2}, torch::kMeta)}}, {}, path),
                    CheckpointError);
    CHECK(fs::is_empty(dir.path()));
    try {
      write_safetensors({}, {}, dir.file("missing/w.safetensors"));
      FAIL("wrote into a missing folder");
    } catch (const CheckpointError& e) {
      CHECK(std::string(e.what()).find("No such file or directory") != std::string::npos);
    }
  }

  TEST_CASE("safetensors reader rejects malformed files") {
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    SUBCASE("missing file") {
      TempDir dir;
      CHECK_THROWS_WITH_AS(read_safetensors(dir.file("nope.safetensors")), doctest::Contains("does not exist"),
                           CheckpointError);
    }
    SUBCASE("empty and short files") {
      check_rejected("", "truncated");
      check_rejected(std::string("\x08\0\0", 3), "truncated");
    }
    SUBCASE("header length larger than the file") { check_rejected(u64_le(100) + "{}", "exceeds the 2 bytes"); }
    SUBCASE("huge header length") {
      check_rejected(u64_le(~uint64_t{0}) + "{}", "exceeds the limit");
      check_rejected(u64_le(100'000'001) + "{}", "exceeds the limit");
    }
    SUBCASE("truncated data") { check_rejected(file_with("{" + ok_entry + "}", 7), "beyond the data buffer of 7"); }
    SUBCASE("bad JSON") {
      check_rejected(file_with("{\"a\":", 0), "invalid JSON");
      check_rejected(file_with("{\"a\":{},}", 0), "invalid JSON");
      check_rejected(file_with("{} x", 0), "after the JSON value");
      check_rejected(file_with("{'a':1}", 0), "invalid JSON");
      check_rejected(file_with("", 0), "invalid JSON");
      check_rejected(file_with("{\"a\":\"\\q\"}", 0), "unknown escape");
      check_rejected(file_with("{\"a\":\"\\ud800\"}", 0), "surrogate");
      check_rejected(file_with("{\"a\":\"\xc3\x28\"}", 0), "invalid UTF-8");
      check_rejected(file_with("{\"a\":\"x\ny\"}", 0), "control character");
      check_rejected(file_with("{\"a\":1,\"a\":2}", 0), "duplicate key");
      check_rejected(file_with("{\"a\":99999999999999999999}", 0), "64 bits");
      check_rejected(file_with(std::string(100000, '[') + std::string(100000, ']'), 0), "nesting deeper");
    }
    SUBCASE("header that is not an object") {
      check_rejected(file_with("[]      ", 0), "must be a JSON object, found an array");
      check_rejected(file_with("{\"a\":[]}", 0), "tensor 'a' must be an object");
      check_rejected(file_with("{\"__metadata__\":[]}", 0), "__metadata__ must be an object");
      check_rejected(file_with("{\"__metadata__\":{\"k\":1}}", 0), "__metadata__ 'k' must be a string");
    }
    SUBCASE("bad tensor entries") {
      check_rejected(file_with(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", 2),
                     "unknown or unsupported dtype \"F8\"");
      check_rejected(file_with(R"({"a":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}})", 2), "unsupported dtype");
      check_rejected(file_with(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8), "has no \"dtype\"");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                     "must not be negative");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8), "only integers");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8), "[begin, end]");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8), "unknown field");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
                     "overflows");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,100]}})", 100),
                     "tensor 'a' has data_offsets [0, 100] but shape [2, 3] of F32 needs 24 bytes");
    }
    SUBCASE("offsets out of range") {
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8),
                     "beyond the data buffer");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
                     "begin is after its end");
    }
    SUBCASE("overlapping tensors") {
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               12),
                     "overlap");
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                               8),
                     "overlap");
    }
    SUBCASE("gaps in the data buffer") {
      check_rejected(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "bytes [0, 4)");
      check_rejected(file_with("{" + ok_entry + "}", 9), "trailing data");
    }
  }

  TEST_CASE("safetensors reader accepts what the JSON spec allows") {
    TempDir dir;
    const std::string path = dir.file("ok.safetensors");
    // Escaped names, whitespace, fields in another order, "-0", a zero-size tensor at the end.
    const std::string header =
        " { \"\\u0061\\/\\ud83d\\ude00\" : { \"shape\" : [ 2 ] , \"data_offsets\" : [-0,8] ,"
        "\"dtype\":\"F32\" } , \"b\":{\"dtype\":\"I8\",\"shape\":[0],\"data_offsets\":[8,8]}}\t\r\n   ";
    write_bytes(path, u64_le(header.size()) + header + std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));
    const auto back = read_safetensors(path);
    REQUIRE(back.size() == 2);
    CHECK(back[0].first == "a/\xf0\x9f\x98\x80");
    CHECK(torch::equal(back[0].second, torch::tensor({1.0f, 2.0f})));
    CHECK(back[1].second.numel() == 0);
    CHECK(back[1].second.dim() == 1);
  }

  TEST_CASE("safetensors handles many tensors without quadratic cost") {
    TempDir dir;
    const std::string path = dir.file("many.safetensors");
    NamedTensors tensors;
    for (int i = 0; i < 50000; ++i) tensors.push_back({"layer." + std::to_string(i), torch::full({1}, i, torch::kInt)});
    write_safetensors(tensors, {}, path);
    const auto back = read_safetensors(path);
    REQUIRE(back.size() == tensors.size());
    CHECK(back[49999].first == "layer.49999");
    CHECK(back[49999].second.item<int>() == 49999);
  }

  TEST_CASE("safetensors files are readable by an independent Python reader and vice versa") {
    TempDir dir;
    const std::string ours = dir.file("ours.safetensors");
    const std::string theirs = dir.file("theirs.safetensors");
    write_safetensors(interop_tensors(), kInteropMetadata, ours);
    if (tempo::testing::skip_without_python_torch()) return;
    const int status = run_interop_script("check " + ours + " write " + theirs);
    REQUIRE(status == 0);  // the script printed what differs
    std::map<std::string, std::string> metadata;
    check_same(read_safetensors(theirs, &metadata), interop_tensors());
    CHECK(metadata == kInteropMetadata);
  }
}
