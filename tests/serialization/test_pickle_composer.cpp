// What Composer's checkpoints hold outside the tensors, as Python 3.11 pickles it (protocol 2,
// the bytes below printed by pickle.dumps with NumPy 2.2 and torch 2.13), and the checks on each
// of those globals' arguments.
#include <doctest/doctest.h>

#include "tempo/errors/error.h"
#include "tempo/serialization/pickle_reader.h"

using namespace tempo;

namespace {

template <size_t N>
std::string B(const char (&bytes)[N]) {
  return std::string(bytes, N - 1);
}

c10::IValue read(const std::string& bytes) {
  return unpickle_tree(
      bytes, [](const std::string& key, c10::ScalarType, int64_t) -> at::Tensor { throw CheckpointError(key); },
      "composer.pt");
}

std::string error_of(const std::string& bytes) {
  try {
    read(bytes);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// datetime.timedelta(days=1, seconds=5, microseconds=250000)
const std::string kTimedelta =
    B("\x80\x02\x63\x64\x61\x74\x65\x74\x69\x6d\x65\x0a\x74\x69\x6d\x65\x64\x65\x6c\x74\x61\x0a\x71\x00\x4b\x01\x4b"
      "\x05\x4a\x90\xd0\x03\x00\x87\x71\x01\x52\x71\x02\x2e");

// numpy.array([0, 1, 2**32 - 1, 2**31], dtype=numpy.uint32)
const std::string kUint32Array = B(
    "\x80\x02\x63\x6e\x75\x6d\x70\x79\x2e\x5f\x63\x6f\x72\x65\x2e\x6d\x75\x6c\x74\x69\x61\x72\x72\x61\x79\x0a\x5f"
    "\x72\x65\x63\x6f\x6e\x73\x74\x72\x75\x63\x74\x0a\x71\x00\x63\x6e\x75\x6d\x70\x79\x0a\x6e\x64\x61\x72\x72\x61"
    "\x79\x0a\x71\x01\x4b\x00\x85\x71\x02\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x03"
    "\x58\x01\x00\x00\x00\x62\x71\x04\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x05\x86\x71\x06\x52\x71\x07"
    "\x87\x71\x08\x52\x71\x09\x28\x4b\x01\x4b\x04\x85\x71\x0a\x63\x6e\x75\x6d\x70\x79\x0a\x64\x74\x79\x70\x65\x0a"
    "\x71\x0b\x58\x02\x00\x00\x00\x75\x34\x71\x0c\x89\x88\x87\x71\x0d\x52\x71\x0e\x28\x4b\x03\x58\x01\x00\x00\x00"
    "\x3c\x71\x0f\x4e\x4e\x4e\x4a\xff\xff\xff\xff\x4a\xff\xff\xff\xff\x4b\x00\x74\x71\x10\x62\x89\x68\x03\x58\x15"
    "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\x00\x00\x00\xc2\x80\x71\x11\x68"
    "\x05\x86\x71\x12\x52\x71\x13\x74\x71\x14\x62\x2e");

// numpy.asfortranarray(numpy.arange(6, dtype=numpy.float64).reshape(2, 3))
const std::string kFortranArray = B(
    "\x80\x02\x63\x6e\x75\x6d\x70\x79\x2e\x5f\x63\x6f\x72\x65\x2e\x6d\x75\x6c\x74\x69\x61\x72\x72\x61\x79\x0a\x5f"
    "\x72\x65\x63\x6f\x6e\x73\x74\x72\x75\x63\x74\x0a\x71\x00\x63\x6e\x75\x6d\x70\x79\x0a\x6e\x64\x61\x72\x72\x61"
    "\x79\x0a\x71\x01\x4b\x00\x85\x71\x02\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x03"
    "\x58\x01\x00\x00\x00\x62\x71\x04\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x05\x86\x71\x06\x52\x71\x07"
    "\x87\x71\x08\x52\x71\x09\x28\x4b\x01\x4b\x02\x4b\x03\x86\x71\x0a\x63\x6e\x75\x6d\x70\x79\x0a\x64\x74\x79\x70"
    "\x65\x0a\x71\x0b\x58\x02\x00\x00\x00\x66\x38\x71\x0c\x89\x88\x87\x71\x0d\x52\x71\x0e\x28\x4b\x03\x58\x01\x00"
    "\x00\x00\x3c\x71\x0f\x4e\x4e\x4e\x4a\xff\xff\xff\xff\x4a\xff\xff\xff\xff\x4b\x00\x74\x71\x10\x62\x88\x68\x03"
    "\x58\x31\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00\x00"
    "\xc3\xb0\x3f\x00\x00\x00\x00\x00\x00\x10\x40\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x14\x40"
    "\x71\x11\x68\x05\x86\x71\x12\x52\x71\x13\x74\x71\x14\x62\x2e");

// {"v": torch.torch_version.TorchVersion("2.13.0+cpu")}
const std::string kTorchVersion =
    B("\x80\x02\x7d\x71\x00\x58\x01\x00\x00\x00\x76\x71\x01\x63\x74\x6f\x72\x63\x68\x2e\x74\x6f\x72\x63\x68\x5f\x76"
      "\x65\x72\x73\x69\x6f\x6e\x0a\x54\x6f\x72\x63\x68\x56\x65\x72\x73\x69\x6f\x6e\x0a\x71\x02\x58\x0a\x00\x00\x00"
      "\x32\x2e\x31\x33\x2e\x30\x2b\x63\x70\x75\x71\x03\x85\x71\x04\x81\x71\x05\x73\x2e");

// b"\x00\xff\x80a" under protocol 2 (_codecs.encode) and protocol 3 (SHORT_BINBYTES)
const std::string kBytes2 = B(
    "\x80\x02\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x00\x58\x06\x00\x00\x00\x00\xc3"
    "\xbf\xc2\x80\x61\x71\x01\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x02\x86\x71\x03\x52\x71\x04\x2e");
const std::string kBytes3 = B("\x80\x03\x43\x04\x00\xff\x80\x61\x71\x00\x2e");

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("Composer's pickled values: timedelta as seconds, NumPy arrays as tensors, TorchVersion, bytes") {
    const auto seconds = read(kTimedelta);
    REQUIRE(seconds.isDouble());
    CHECK(seconds.toDouble() == 86405.25);

    const auto words = read(kUint32Array);
    REQUIRE(words.isTensor());
    CHECK((words.toTensor().scalar_type() == at::kLong));  // uint32 widens: 2^32 - 1 stays itself
    CHECK(at::equal(words.toTensor(), at::tensor(std::vector<int64_t>{0, 1, 4294967295LL, 2147483648LL})));

    const auto fortran = read(kFortranArray);
    REQUIRE(fortran.isTensor());
    CHECK(at::equal(fortran.toTensor(), at::arange(6, at::kDouble).reshape({2, 3})));

    const auto version = read(kTorchVersion);
    CHECK(version.toGenericDict().at("v").toStringRef() == "2.13.0+cpu");

    CHECK(read(kBytes2).toStringRef() == std::string("\x00\xff\x80" "a", 4));
    CHECK(read(kBytes3).toStringRef() == std::string("\x00\xff\x80" "a", 4));
  }

  TEST_CASE("Composer's globals are refused with any other arguments or types") {
    const auto refused = [](const std::string& bytes, const std::string& why) {
      const auto error = error_of(bytes);
      INFO(error);
      CHECK(error.find("composer.pt") != std::string::npos);
      CHECK(error.find(why) != std::string::npos);
    };
    // timedelta(1, 86400, 250000): seconds not normalized
    refused(replaced(kTimedelta, B("\x4b\x05"), B("\x4a\x80\x51\x01\x00")), "not a normalized");
    // _codecs.encode(s, 'utf_8')
    refused(replaced(kBytes2, "latin1", "utf_81"), "(str, 'latin1')");
    // NumPy types tempo does not read: uint64 (no tensor type holds it), object arrays, big-endian
    refused(replaced(kUint32Array, "u4", "u8"), "numpy dtype 'u8' is not supported");
    refused(replaced(kUint32Array, "u4", "O8"), "numpy dtype 'O8' is not supported");
    refused(replaced(kUint32Array, B("\x58\x01\x00\x00\x00\x3c"), B("\x58\x01\x00\x00\x00\x3e")), "little-endian");
    // four elements of four bytes declared, five elements' shape
    refused(replaced(kUint32Array, B("\x4b\x01\x4b\x04\x85"), B("\x4b\x01\x4b\x05\x85")), "has 16 bytes");
    // the array's BUILD state with another version
    refused(replaced(kUint32Array, B("\x28\x4b\x01\x4b\x04"), B("\x28\x4b\x02\x4b\x04")), "(1, shape, dtype");
    // numpy.ndarray called directly, and TorchVersion made by NEWOBJ from a number
    refused(replaced(kUint32Array, B("\x52\x71\x09"), B("\x85\x52\x71\x09")), "numpy");
    refused(replaced(kTorchVersion, B("\x58\x0a\x00\x00\x00\x32\x2e\x31\x33\x2e\x30\x2b\x63\x70\x75"), B("\x4b\x07")),
            "TorchVersion made from something other than one string");
    // NEWOBJ of any other class
    refused(replaced(kTorchVersion, "torch.torch_version\nTorchVersion", "collections\nOrderedDict"), "NEWOBJ");
    // a neighbour of an allowed name is still refused
    refused(replaced(kTimedelta, "datetime\ntimedelta", "datetime\ndatetime"), "refusing to load global 'datetime.datetime'");
  }
}
