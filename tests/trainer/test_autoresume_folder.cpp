// Autoresume and the saver's restart scan read the save folder through the run's CheckpointFolder,
// so progress variables in save_folder ({epoch}) do not send a restart to the wrong checkpoint.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

TEST_SUITE("trainer") {
  TEST_CASE("autoresume with {epoch} in save_folder resumes from the newest checkpoint, bit-exactly") {
    auto data = blobs(20);  // 5 batches per epoch
    TempDir dir;
    auto options = [&](TrainerOptions& o) {
      o.save_folder(dir / "{run_name}/e{epoch}").save_interval("2ba").autoresume(true);
    };
    auto first = make_run(data, "7ba", options);
    first.trainer->fit();
    CHECK(files_in(dir / "test-run/e0") == std::vector<std::string>{"ep0-ba2-rank0.pt", "ep0-ba4-rank0.pt", "latest-rank0.pt"});
    CHECK(files_in(dir / "test-run/e1") == std::vector<std::string>{"ep1-ba6-rank0.pt", "ep1-ba7-rank0.pt", "latest-rank0.pt"});

    // A restart starts from a fresh State at epoch 0; it must still find batch 7 in e1, not batch 4 in
    // e0 (which then refused to overwrite e1's batch 6).
    auto resumed = make_run(data, "3ep", 5, 99, {}, 4, options);
    CHECK(resumed.trainer->resumed_from() == dir / "test-run/e1/ep1-ba7-rank0.pt");
    CHECK(resumed.trainer->state().timestamp.batch() == 7);
    resumed.trainer->fit();
    // Rotation and the restart scan count every epoch's folder.
    CHECK(resumed.trainer->saved_checkpoints().size() == 9);  // 2 4 | 6 7 8 10 | 12 14 15
    auto straight = make_run(data, "3ep");
    straight.trainer->fit();
    CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
    CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*resumed.optimizer)));
  }
}
