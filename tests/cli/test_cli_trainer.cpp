// inspect and export on a checkpoint written by a real Trainer run, not a hand-made tree.
#include <doctest/doctest.h>

#include <map>

#include "tempo/cli/export.h"
#include "tempo/cli/inspect.h"
#include "cli_support.h"
#include "tempo/serialization/safetensors.h"
#include "support/fixtures.h"

using namespace tempo::testing;

TEST_SUITE("cli") {
  TEST_CASE("inspect and export a checkpoint that a Trainer saved") {
    TempDir dir;
    auto run = make_run(blobs(16), "1ep", [&](tempo::TrainerOptions& o) { o.save_folder(dir.path()); });
    run.trainer->fit();
    const auto checkpoint = dir / "ep1-ba4-rank0.pt";
    REQUIRE(std::filesystem::exists(checkpoint));

    const auto text = run_command(tempo::cli::run_inspect, {checkpoint});
    CHECK(text.status == 0);
    CHECK(text.out.find("format          tempo\n") != std::string::npos);
    CHECK(text.out.find("timestamp       epoch 1, batch 4, sample 16, batch_in_epoch 0\n") != std::string::npos);
    CHECK(text.out.find("run_name        test-run\n") != std::string::npos);
    CHECK(text.out.find("rank_zero_seed  42\n") != std::string::npos);
    CHECK(text.out.find("tempo_version   0.1.0\n") != std::string::npos);
    CHECK(text.out.find(std::string("torch_version   ") + TORCH_VERSION + "\n") != std::string::npos);  // the LibTorch linked
    CHECK(text.out.find("\n    fc1.weight  float32 [16, 8]  512 B\n") != std::string::npos);
    CHECK(text.out.find("\n    fc2.bias    float32 [2]  8 B\n") != std::string::npos);
    CHECK(text.out.find("exp_avg_sq") != std::string::npos);

    const auto json = run_command(tempo::cli::run_inspect, {checkpoint, "--json"});
    CHECK(json.status == 0);
    CHECK(json.out.find("\"timestamp\": {\"epoch\": 1, \"batch\": 4, \"sample\": 16, \"batch_in_epoch\": 0}") !=
          std::string::npos);

    const auto out = dir / "model.safetensors";
    const auto exported = run_command(tempo::cli::run_export, {checkpoint, "--format", "safetensors", out});
    CHECK(exported.status == 0);
    CHECK(exported.out == "exported 4 tensors (712 bytes) to " + out + "\n");
    const auto tensors = tempo::read_safetensors(out);
    std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
    for (const auto& item : run.model->named_parameters()) {
      CAPTURE(item.key());
      REQUIRE(by_name.count(item.key()) == 1);
      CHECK(torch::equal(by_name[item.key()], item.value()));
    }
  }
}
