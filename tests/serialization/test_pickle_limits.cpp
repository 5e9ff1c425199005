// The unpickler against pickles built to exhaust the C++ stack (containers nested hundreds of
// thousands deep) or time (shared references that expand without end): each must be refused with
// one clear message, quickly, by unpickle_tree and by every file reader above it.
#include <doctest/doctest.h>

#include <chrono>

#include "tempo/errors/error.h"
#include "hostile_pickles.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/pickle_reader.h"
#include "tempo/serialization/pickle_writer.h"
#include "tempo/serialization/weights_file.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

namespace {

StorageLoader no_storages() {
  return [](const std::string& key, c10::ScalarType, int64_t) -> at::Tensor {
    throw CheckpointError("no storage " + key);
  };
}

std::string unpickle_error(const std::string& bytes) {
  try {
    unpickle_tree(bytes, no_storages(), "evil.pt");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

std::string weights_file_error(const std::string& path) {
  try {
    open_weights_file(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

// `levels` lists, each holding the next; the innermost is empty.
c10::IValue list_chain(size_t levels) {
  auto root = any_list();
  auto at = root;
  for (size_t i = 1; i < levels; ++i) {
    auto next = any_list();
    at.push_back(next);
    at = next;
  }
  return root;
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("containers of every kind nested 200000 deep are refused without overflowing the stack") {
    const size_t levels = 200000;
    const std::pair<const char*, std::string> pickles[] = {
        {"tuples", nested_tuples(levels)},
        {"tuples around a global", nested_tuples_around_a_global(levels)},
        {"lists", nested_lists(levels)},
        {"dicts", nested_dicts(levels)},
        {"lists and tuples", nested_lists_and_tuples(levels)},
        {"lists chained through the memo", lists_chained_through_the_memo(levels)},
    };
    for (const auto& pickle : pickles) {
      CAPTURE(pickle.first);
      CHECK(unpickle_error(pickle.second) == "checkpoint 'evil.pt': pickle nests deeper than 256 levels");
    }
  }

  TEST_CASE("the file readers refuse a pickle nested 200000 deep") {
    // open_weights_file: what load_path, tempo inspect and tempo export read files with.
    TempDir dir;
    const auto path = dir / "deep.pt";
    for (const auto& pickle : {nested_tuples(200000), nested_tuples_around_a_global(200000)}) {
      write_pickle_checkpoint(path, pickle);
      CHECK(weights_file_error(path) == "checkpoint '" + path + "': pickle nests deeper than 256 levels");
    }
  }

  TEST_CASE("a tree nested as deep as the writer allows reads back; one level more is refused") {
    // The writer takes containers down to 256 levels below the root: 257 nested.
    std::vector<at::Tensor> storages;
    const std::string deepest = pickle_tree(list_chain(257), storages);
    const c10::IValue back = unpickle_tree(deepest, no_storages(), "deep.pt");
    size_t depth = 0;
    for (c10::IValue at = back; at.isList(); at = at.toListRef().empty() ? c10::IValue() : at.toListRef()[0])
      ++depth;
    CHECK(depth == 257);
    CHECK_THROWS_AS(pickle_tree(list_chain(258), storages), CheckpointError);
    for (const auto& pickle : {nested_lists(258), nested_dicts(258), nested_lists_and_tuples(259)})
      CHECK(unpickle_error(pickle).find("deeper than 256 levels") != std::string::npos);
    CHECK(unpickle_error(nested_tuples(257)) == "no error");
    CHECK(unpickle_error(nested_tuples(258)).find("deeper than 256 levels") != std::string::npos);
    CHECK(unpickle_error(nested_lists(257)) == "no error");
    CHECK(unpickle_error(nested_dicts(257)) == "no error");
  }

  TEST_CASE("a memo bomb is refused by the size its shared references expand to") {
    const auto start = std::chrono::steady_clock::now();
    CHECK(unpickle_error(memo_bomb()) ==
          "checkpoint 'evil.pt': pickle expands to more than 16777216 values through shared references");
    TempDir dir;
    const auto path = dir / "bomb.pt";
    write_pickle_checkpoint(path, memo_bomb());
    CHECK(weights_file_error(path) ==
          "checkpoint '" + path + "': pickle expands to more than 16777216 values through shared references");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    // Sharing within the bound is kept as it is: one list, referenced from ten places.
    const c10::IValue shared = unpickle_tree(memo_bomb(3, 10), no_storages(), "shared.pt");
    const auto outer = shared.toListRef();
    REQUIRE(outer.size() == 4);
    CHECK(outer[3].toListRef()[0].internalToPointer() == outer[2].internalToPointer());
  }

  TEST_CASE("a tuple holding a global costs nothing to fetch from the memo again") {
    // 50000 items fetched 50000 times: copied on each fetch, 2.5e9 items.
    const auto start = std::chrono::steady_clock::now();
    CHECK(unpickle_error(copied_global_tuple(50000, 50000)).find("STOP with an unbalanced stack") !=
          std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }
}
