#include <doctest/doctest.h>

#include "tempo/state/model_weights_file.h"
#include "support/fixtures.h"
#include "support/python.h"

using namespace tempo;
using namespace tempo::testing;

TEST_SUITE("trainer") {
  TEST_CASE("Python's torch.load opens a training checkpoint; the model and Adam state load into torch.nn") {
    if (tempo::testing::skip_without_python_torch()) return;
    TempDir dir;
    auto run = make_run(blobs(12), "5ba", [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("5ba"); });
    run.trainer->fit();
    auto [rc, output] = run_python_script("trainer_interop.py", "check " + (dir / "ep1-ba5-rank0.pt") + " 5",
                                          dir / "python.log");
    INFO(output);
    CHECK(rc == 0);
  }

  TEST_CASE("load_path with load_weights_only takes a Python model.state_dict() and a safetensors file") {
    if (tempo::testing::skip_without_python_torch()) return;
    TempDir dir;
    auto [rc, output] = run_python_script("trainer_interop.py", "save " + (dir / "tiny.pt"), dir / "python.log");
    INFO(output);
    REQUIRE(rc == 0);
    auto from_python = make_run(blobs(12), "1ep", [&](TrainerOptions& o) {
      o.load_path(dir / "tiny.pt").load_weights_only(true);
    });
    int i = 0;
    for (const auto& p : from_python.model->parameters()) {
      auto expected = torch::arange(p.numel(), torch::kFloat).reshape(p.sizes()) * 0.01 + i++;
      CHECK(torch::equal(p, expected));
    }
    CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](TrainerOptions& o) { o.load_path(dir / "tiny.pt"); }),
                         doctest::Contains("set load_weights_only"), CheckpointError);

    // tempo's own safetensors export of the same weights loads back identically.
    save_model_safetensors(*from_python.model, dir / "tiny.safetensors");
    auto from_safetensors = make_run(blobs(12), "1ep", 42, 99, {}, 4, [&](TrainerOptions& o) {
      o.load_path(dir / "tiny.safetensors").load_weights_only(true);
    });
    CHECK(bit_equal(weights(*from_python.model), weights(*from_safetensors.model)));
  }

  // `tempo inspect w.bin` read a safetensors file by its content; load_path went by the
  // ".safetensors" extension alone and took w.bin for a zip checkpoint. Both now open files
  // through open_weights_file.
  TEST_CASE("load_path takes a safetensors file by its content, whatever its name, as inspect does") {
    TempDir dir;
    auto source = make_run(blobs(12), "1ep");
    save_model_safetensors(*source.model, dir / "w.bin");
    auto loaded = make_run(blobs(12), "1ep", 42, 99, {}, 4, [&](TrainerOptions& o) {
      o.load_path(dir / "w.bin").load_weights_only(true);
    });
    CHECK(bit_equal(weights(*source.model), weights(*loaded.model)));
    auto fresh = make_run(blobs(12), "1ep", 42, 99);
    CHECK_FALSE(bit_equal(weights(*source.model), weights(*fresh.model)));  // the load is what made them equal
  }
}
