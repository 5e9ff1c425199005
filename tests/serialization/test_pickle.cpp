// The protocol-2 pickler and the bounded unpickler, in memory.
#include <doctest/doctest.h>

#include <random>

#include "tempo/errors/error.h"
#include "tempo/serialization/pickle_reader.h"
#include "tempo/serialization/pickle_writer.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

// Storages from pickle_tree(), served back to unpickle_tree() as copies on the CPU.
StorageLoader loader_for(const std::vector<at::Tensor>& storages) {
  return [&storages](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    size_t index = storages.size();
    for (size_t i = 0; i < storages.size(); ++i)
      if (key == std::to_string(i)) index = i;
    if (index >= storages.size()) throw CheckpointError("no storage " + key);
    const at::Tensor s = storages[index].clone();
    if (s.scalar_type() != dtype || s.numel() != numel) throw CheckpointError("storage mismatch " + key);
    return s;
  };
}

StorageLoader no_storages() {
  return [](const std::string& key, c10::ScalarType, int64_t) -> at::Tensor {
    throw CheckpointError("no storage " + key);
  };
}

std::string error_of(const std::string& bytes, const StorageLoader& load = no_storages()) {
  try {
    unpickle_tree(bytes, load, "evil.pt");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

// A string literal with its embedded NULs.
template <size_t N>
std::string B(const char (&bytes)[N]) {
  return std::string(bytes, N - 1);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("pickle round trip keeps every value type bit-exact") {
    const c10::IValue tree = sample_tree();
    std::vector<at::Tensor> storages;
    const std::string bytes = pickle_tree(tree, storages);
    CHECK(bytes.substr(0, 2) == "\x80\x02");
    CHECK(bytes.back() == '.');
    const c10::IValue back = unpickle_tree(bytes, loader_for(storages), "memory");
    check_same_tree(tree, back);

    const auto state = back.toGenericDict().at("state").toGenericDict();
    const auto model = state.at("model").toGenericDict();
    const auto impl = model.at("w").toTensor().storage().unsafeGetStorageImpl();
    for (const char* view : {"w_row", "w_t", "w_col"})
      CHECK(model.at(view).toTensor().storage().unsafeGetStorageImpl() == impl);
    const auto adam_state =
        state.at("optimizers").toGenericDict().at("Adam").toGenericDict().at("state").toGenericDict();
    CHECK(adam_state.keyType()->kind() == c10::TypeKind::IntType);
    CHECK(state.at("model").toGenericDict().keyType()->kind() == c10::TypeKind::StringType);
    CHECK(state.at("scalar").toTensor().dim() == 0);
    CHECK(state.at("empty2d").toTensor().sizes() == at::IntArrayRef({0, 3}));
  }

  TEST_CASE("tensors sharing a storage get one storage key holding the whole storage") {
    at::Tensor base = at::arange(10, at::kLong);
    auto d = str_dict();
    d.insert("slice", base.slice(0, 2, 5));
    d.insert("base", base);
    d.insert("other", at::ones({3}));
    std::vector<at::Tensor> storages;
    pickle_tree(d, storages);
    REQUIRE(storages.size() == 2);
    CHECK(storages[0].numel() == 10);  // the slice came first but stores the whole storage
    CHECK(storages[1].numel() == 3);
    const auto back = unpickle_tree(pickle_tree(d, storages), loader_for(storages), "m").toGenericDict();
    CHECK(back.at("slice").toTensor().storage_offset() == 2);
    CHECK(back.at("slice").toTensor().equal(at::arange(2, 5, at::kLong)));
  }

  TEST_CASE("the pickle names only the globals torch.load(weights_only=True) accepts") {
    std::vector<at::Tensor> storages;
    const auto globals = pickle_globals(pickle_tree(sample_tree(), storages));
    CHECK(!globals.empty());
    for (const auto& g : globals) {
      INFO(g);
      CHECK(allowed_global(g));
    }
  }

  TEST_CASE("pickle bytes match what Python's pickler writes") {
    // torch.save's data.pkl for the same dict, with the memo opcodes dropped by
    // pickletools.optimize (torch 1.13, /usr/bin/python3).
    auto d = str_dict();
    d.insert("a", at::ones({2}));
    d.insert("l", c10::List<int64_t>({1, -1, 300, 70000, int64_t{1} << 40}));
    std::vector<at::Tensor> storages;
    const std::string expected = from_hex(
        "80027d2858010000006163746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a2828580700"
        "000073746f7261676563746f7263680a466c6f617453746f726167650a58010000003058030000006370754b0274514b"
        "004b02854b01858963636f6c6c656374696f6e730a4f726465726564446963740a2952745258010000006c5d284b014a"
        "ffffffff4d2c014a701101008a0600000000000165752e");
    CHECK(pickle_tree(d, storages) == expected);
  }

  TEST_CASE("values a checkpoint cannot hold are refused with their tree path") {
    auto adam = str_dict();
    adam.insert("bad", c10::IValue(c10::Device(c10::kCPU)));
    auto optimizers = str_dict();
    optimizers.insert("Adam", adam);
    auto state = str_dict();
    state.insert("optimizers", optimizers);
    auto root = str_dict();
    root.insert("state", state);
    std::vector<at::Tensor> storages;
    CHECK_THROWS_WITH_AS(pickle_tree(root, storages), doctest::Contains("state/optimizers/Adam/bad"),
                         CheckpointError);

    auto complex = str_dict();
    complex.insert("z", at::ones({2}, at::kComplexFloat));
    CHECK_THROWS_WITH_AS(pickle_tree(complex, storages), doctest::Contains("'z'"), CheckpointError);
    auto mixed = str_dict();
    at::Tensor f = at::ones({2});
    mixed.insert("f", f);
    mixed.insert("i", f.view(at::kInt));
    CHECK_THROWS_AS(pickle_tree(mixed, storages), CheckpointError);
    auto bad_utf8 = str_dict();
    bad_utf8.insert("s", std::string("\xff\xfe"));
    CHECK_THROWS_AS(pickle_tree(bad_utf8, storages), CheckpointError);
    auto cyclic = any_list();
    cyclic.push_back(int64_t{1});
    cyclic.push_back(cyclic);
    CHECK_THROWS_WITH_AS(pickle_tree(cyclic, storages), doctest::Contains("deeper"), CheckpointError);
    cyclic.clear();
  }

  TEST_CASE("hostile pickles are refused without executing or crashing") {
    CHECK(error_of(B("\x80\x02"
                     "cos\nsystem\n(X\x02\x00\x00\x00lst\x85R."))
              .find("refusing to load global 'os.system'") != std::string::npos);
    CHECK(error_of(B("\x80\x02"
                     "cbuiltins\neval\n."))
              .find("evil.pt") != std::string::npos);
    CHECK(error_of(B("\x80\x02"
                     "c__builtin__\nexec\n."))
              .find("refusing") != std::string::npos);
    // REDUCE of a value that is not one of the known globals.
    CHECK(error_of(B("\x80\x02]N\x85R.")).find("REDUCE") != std::string::npos);
    CHECK(error_of(B("\x80\x02"
                     "ctorch\nFloatStorage\n)R."))
              .find("refusing to call") != std::string::npos);
    // Declared lengths far beyond the data.
    CHECK(error_of(B("\x80\x02X\xff\xff\xff\x7f"
                     "abc."))
              .find("truncated") != std::string::npos);
    CHECK(error_of(B("\x80\x02\x8a\xff"
                     "abc."))
              .find("wider") != std::string::npos);
    // Deep nesting: MARKs, nested lists, and a list that contains itself.
    CHECK(error_of("\x80\x02" + std::string(100000, '(')).find("deeper") != std::string::npos);
    CHECK(error_of("\x80\x02" + std::string(300, ']') + std::string(299, 'a') + ".").find("deeper") !=
          std::string::npos);
    CHECK(error_of(B("\x80\x02]q\x00h\x00"
                     "a."))
              .find("cyclic") != std::string::npos);
    // Unknown opcodes, unbalanced stacks, a missing STOP, unknown memo entries, bad keys.
    CHECK(error_of("\x80\x02I1\n.").find("opcode 0x49") != std::string::npos);
    CHECK(error_of(B("\x80\x02K\x01K\x02.")).find("STOP") != std::string::npos);
    CHECK(error_of(B("\x80\x02K\x01")).find("no STOP") != std::string::npos);
    CHECK(error_of(B("\x80\x02h\x05.")).find("memo") != std::string::npos);
    CHECK(error_of(B("\x80\x02}G\x00\x00\x00\x00\x00\x00\x00\x00K\x01s.")).find("key") != std::string::npos);
    CHECK(error_of(B("\x80\x02s.")).find("underflow") != std::string::npos);
  }

  TEST_CASE("tensor views that reach past their storage are refused") {
    std::vector<at::Tensor> storages{at::arange(4, at::kFloat)};
    const auto tensor_pickle = [](const std::string& size, const std::string& stride,
                                  const std::string& offset) {
      return B("\x80\x02"
               "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n") +
             B("X\x01\x00\x00\x00"
               "0X\x03\x00\x00\x00"
               "cpuK\x04tQ") +
             offset + size + stride +
             "\x89"
             "ccollections\nOrderedDict\n)RtR.";
    };
    const std::string k0 = B("K\x00");
    const auto ok =
        unpickle_tree(tensor_pickle(B("K\x02\x85"), B("K\x02\x85"), B("K\x01")), loader_for(storages), "m");
    CHECK(ok.toTensor().equal(at::tensor({1.0f, 3.0f})));
    CHECK(error_of(tensor_pickle(B("K\x05\x85"), B("K\x01\x85"), k0), loader_for(storages))
              .find("reaches past") != std::string::npos);
    CHECK(error_of(tensor_pickle(B("\x8a\x05\x00\x00\x00\x00\x01\x85"), B("K\x01\x85"), k0),
                   loader_for(storages))
              .find("reaches past") != std::string::npos);
    CHECK(error_of(tensor_pickle(B("K\x03\x85"), B("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x85"), k0),
                   loader_for(storages))
              .find("overflow") != std::string::npos);
    CHECK(error_of(tensor_pickle(B("J\xff\xff\xff\xff\x85"), B("K\x01\x85"), k0), loader_for(storages))
              .find("non-negative") != std::string::npos);
  }

  TEST_CASE("truncated and mutated pickles fail cleanly") {
    std::vector<at::Tensor> storages;
    const c10::IValue tree = sample_tree().toGenericDict().at("state").toGenericDict().at("optimizers");
    const std::string bytes = pickle_tree(tree, storages);
    for (size_t n = 0; n < bytes.size(); ++n)
      CHECK_THROWS_AS(unpickle_tree(bytes.substr(0, n), loader_for(storages), "t"), CheckpointError);
    std::mt19937 rng(5);
    for (int round = 0; round < 3000; ++round) {
      std::string mutated = bytes;
      for (int k = 0; k < 3; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xFF);
      try {
        unpickle_tree(mutated, loader_for(storages), "t");
      } catch (const CheckpointError&) {
      }
    }
  }
}
