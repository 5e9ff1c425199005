#include <doctest/doctest.h>

#include <fstream>

#include "tempo/errors/error.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "tempo/serialization/weights_file.h"
#include "serialization_support.h"

using namespace tempo;
using namespace tempo::testing;

TEST_SUITE("serialization") {
  TEST_CASE("open_weights_file: safetensors by name or by content, zip checkpoints by anatomy") {
    TempDir dir;
    const NamedTensors tensors{{"w", at::arange(6, at::kFloat).reshape({2, 3})}, {"b", at::ones({3}, at::kHalf)}};
    const std::map<std::string, std::string> metadata{{"format", "pt"}};
    for (const char* name : {"w.safetensors", "w.bin", "w"}) {
      CAPTURE(name);
      write_safetensors(tensors, metadata, dir / name);
      const auto file = open_weights_file(dir / name);
      CHECK(file.format == "safetensors");
      CHECK(file.metadata == metadata);
      const auto dict = file.tree.toGenericDict();
      REQUIRE(dict.size() == 2);
      CHECK(dict.begin()->key().toStringRef() == "w");  // header order
      CHECK(at::equal(dict.at("w").toTensor(), tensors[0].second));
      CHECK(at::equal(dict.at("b").toTensor(), tensors[1].second));
    }

    auto state_dict = str_dict();
    state_dict.insert("w", at::ones({2}));
    write_checkpoint(state_dict, dir / "model.pt");
    auto state = str_dict();
    state.insert("model", state_dict);
    auto checkpoint = str_dict();
    checkpoint.insert("state", state);
    write_checkpoint(checkpoint, dir / "ep1.pt");
    // A zip named .bin is still a zip: the content decides.
    write_checkpoint(checkpoint, dir / "ep1.bin");
    uint64_t told = 0;
    CHECK(open_weights_file(dir / "model.pt").format == "torch");
    const auto tempo = open_weights_file(dir / "ep1.pt", [&](uint64_t done, uint64_t) { told = done; });
    CHECK(tempo.format == "tempo");
    CHECK(tempo.metadata.empty());
    CHECK(told > 0);
    CHECK(open_weights_file(dir / "ep1.bin").format == "tempo");
  }

  TEST_CASE("open_weights_file: unreadable files fail naming the path") {
    TempDir dir;
    {
      std::ofstream(dir / "short.bin") << "PK";
      std::ofstream(dir / "text.bin") << "not a checkpoint at all";
      std::ofstream(dir / "bad.bin", std::ios::binary) << std::string("\x10\0\0\0\0\0\0\0{\"a\": 1}        ", 24);
    }
    for (const char* name : {"missing.bin", "short.bin", "text.bin", "bad.bin", "missing.safetensors"}) {
      CAPTURE(name);
      CHECK_THROWS_WITH_AS(open_weights_file(dir / name), doctest::Contains(name), CheckpointError);
    }
  }
}
