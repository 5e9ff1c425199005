// Autoresume trusts the checkpoints, not the latest link: it resumes from the newest checkpoint
// that reads back, when the newest is damaged, when the link is missing, and when it is stale.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tempo/serialization/checkpoint_file.h"
#include "support/capture_stderr.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {


}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("autoresume skips a damaged newest checkpoint and ignores a missing or stale latest link") {
    auto data = blobs(12);  // 3 batches per epoch
    TempDir dir;
    const auto link = dir / "latest-rank0.pt";
    auto options = [&](TrainerOptions& o) {
      o.save_folder(dir.path()).save_interval("1ba").autoresume(true);
    };
    auto first = make_run(data, "6ba", options);
    first.trainer->fit();
    REQUIRE(fs::read_symlink(link) == "ep1-ba6-rank0.pt");

    // Resumed runs start from another seed and initialisation: all they have comes from the file.
    auto resume = [&](const std::string& max_duration, int64_t expected_batch, bool overwrite = false) {
      std::string err;
      Run run;
      {
        CapturedStderr captured;
        run = make_run(data, max_duration, 5, 99, {}, 4, [&](TrainerOptions& o) {
          options(o);
          o.save_overwrite(overwrite);
        });
        err = captured.text();
      }
      CHECK(run.trainer->state().timestamp.batch() == expected_batch);
      run.trainer->fit();
      auto straight = make_run(data, max_duration);
      straight.trainer->fit();
      CHECK(bit_equal(weights(*straight.model), weights(*run.model)));
      CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*run.optimizer)));
      return err;
    };

    // (a) the newest checkpoint, the one latest names, is truncated to half.
    const auto newest = dir / "ep1-ba6-rank0.pt";
    fs::resize_file(newest, fs::file_size(newest) / 2);
    // Batch 6 is trained again and its damaged file replaced, without needing save_overwrite.
    const auto err = resume("6ba", 5);
    MESSAGE("the user sees: " << err);
    CHECK(err.find("autoresume skips") != std::string::npos);
    CHECK(err.find("ep1-ba6-rank0.pt") != std::string::npos);
    CHECK(read_checkpoint(newest).toGenericDict().contains("state"));  // rewritten whole

    // (b) the link is gone: the newest file is found anyway.
    fs::remove(link);
    CHECK(resume("8ba", 6).find("autoresume skips") == std::string::npos);
    REQUIRE(fs::read_symlink(link) == "ep2-ba8-rank0.pt");

    // (c) the link is stale, naming an older file: the newest file wins.
    fs::remove(link);
    fs::create_symlink("ep0-ba2-rank0.pt", link);
    CHECK(resume("9ba", 8).find("autoresume skips") == std::string::npos);
    CHECK(fs::read_symlink(link) == "ep2-ba9-rank0.pt");
  }
}
