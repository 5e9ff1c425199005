// Checkpoints in an object store through file:// (storage/local_object_store.h): the same
// CheckpointSaver, uploader and autoresume code paths as s3:// (tests/storage covers S3 against
// real servers), without a server. The local copy of a URI save folder is written below the
// working folder (Composer's rule), so each test works in its own scratch folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/capture_stderr.h"
#include "support/fixtures.h"
#include "tempo/callbacks/checkpoint_uploader.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

// The checkpoint files below `folder` (not the lock or latest links), sorted.
std::vector<std::string> checkpoints_in(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return names;
  for (const auto& name : files_in(folder)) {
    if (name.rfind("ep", 0) == 0) names.push_back(name);
  }
  return names;
}

}  // namespace

TEST_SUITE("trainer") {
  TEST_CASE("a file:// save folder: each checkpoint is uploaded, then the remote latest names it") {
    auto data = blobs(20);  // 5 batches per epoch
    TempDir dir;
    WorkingFolder here(dir / "machine1");
    const auto store = dir / "store";
    const auto uri = "file://" + store + "/{run_name}/checkpoints";
    const auto key_folder = store.substr(1) + "/test-run/checkpoints";  // the local copy's folder

    SUBCASE("local copies are kept by save_num_checkpoints_to_keep; every remote copy is kept") {
      auto run = make_run(data, "3ep", [&](TrainerOptions& o) {
        o.save_folder(uri).save_interval("1ep").save_num_checkpoints_to_keep(1);
      });
      run.trainer->fit();
      CHECK(checkpoints_in(store + "/test-run/checkpoints") ==
            std::vector<std::string>{"ep1-ba5-rank0.pt", "ep2-ba10-rank0.pt", "ep3-ba15-rank0.pt"});
      CHECK(checkpoints_in(key_folder) == std::vector<std::string>{"ep3-ba15-rank0.pt"});
      // Composer's remote latest: an object whose body is the key of the newest checkpoint.
      CHECK(slurp(store + "/test-run/checkpoints/latest-rank0.pt.symlink") == key_folder + "/ep3-ba15-rank0.pt");
      CHECK(slurp(store + "/test-run/checkpoints/ep3-ba15-rank0.pt") == slurp(key_folder + "/ep3-ba15-rank0.pt"));
    }
    SUBCASE("save_num_checkpoints_to_keep 0 removes each local copy once it is uploaded") {
      auto run = make_run(data, "2ep", [&](TrainerOptions& o) {
        o.save_folder(uri).save_interval("1ep").save_num_checkpoints_to_keep(0);
      });
      run.trainer->fit();
      CHECK(checkpoints_in(key_folder).empty());
      CHECK(checkpoints_in(store + "/test-run/checkpoints") ==
            std::vector<std::string>{"ep1-ba5-rank0.pt", "ep2-ba10-rank0.pt"});
    }
    SUBCASE("save_remote_num_checkpoints_to_keep rotates the store, never the latest") {
      auto run = make_run(data, "4ep", [&](TrainerOptions& o) {
        o.save_folder(uri).save_interval("1ep").save_remote_num_checkpoints_to_keep(2);
      });
      run.trainer->fit();
      CHECK(checkpoints_in(store + "/test-run/checkpoints") ==
            std::vector<std::string>{"ep3-ba15-rank0.pt", "ep4-ba20-rank0.pt"});
      CHECK(checkpoints_in(key_folder).size() == 4);  // local copies: all (-1)
    }
  }

  TEST_CASE("autoresume from a file:// save folder on a second machine (empty local folder) is bit-exact") {
    auto data = blobs(20);
    TempDir dir;
    const auto uri = "file://" + (dir / "store") + "/{run_name}";
    auto options = [&](TrainerOptions& o) {
      o.save_folder(uri).save_interval("3ba").autoresume(true).save_num_checkpoints_to_keep(0);
    };
    {
      WorkingFolder here(dir / "machine1");
      auto first = make_run(data, "7ba", options);
      first.trainer->fit();
    }
    WorkingFolder here(dir / "machine2");
    SUBCASE("from the remote latest") {
      auto resumed = make_run(data, "3ep", 5, 99, {}, 4, options);
      CHECK(resumed.trainer->state().timestamp.batch() == 7);
      CHECK(resumed.trainer->resumed_from() == (dir / "store").substr(1) + "/test-run/ep1-ba7-rank0.pt");
      resumed.trainer->fit();
      auto straight = make_run(data, "3ep");
      straight.trainer->fit();
      CHECK(bit_equal(weights(*straight.model), weights(*resumed.model)));
      CHECK(bit_equal(adam_tensors(*straight.optimizer), adam_tensors(*resumed.optimizer)));
    }
    SUBCASE("a damaged remote checkpoint is skipped, with a warning, for an older good one") {
      const auto newest = dir / "store/test-run/ep1-ba7-rank0.pt";
      fs::resize_file(newest, fs::file_size(newest) - 100);
      CapturedStderr err;
      auto resumed = make_run(data, "3ep", 5, 99, {}, 4, options);
      const auto text = err.text();
      CHECK(resumed.trainer->state().timestamp.batch() == 6);
      CHECK(text.find("autoresume skips remote checkpoint file://" + newest) != std::string::npos);
    }
  }

  TEST_CASE("load_path as a file:// URI (and its .symlink) loads through the cache, bit-exactly") {
    auto data = blobs(20);
    TempDir dir;
    WorkingFolder here(dir / "work");
    const auto uri = "file://" + (dir / "store");
    auto saved = make_run(data, "2ep", [&](TrainerOptions& o) { o.save_folder(uri).save_interval("1ep"); });
    saved.trainer->fit();
    auto cache = [&](TrainerOptions& o) { o.remote_cache_folder(dir / "cache"); };
    SUBCASE("the object") {
      check_resume_is_exact(data, "3ep", uri + "/ep1-ba5-rank0.pt", 0, 10, cache);
      CHECK(fs::exists(dir / "cache/file" + dir.path() + "/store/ep1-ba5-rank0.pt"));
    }
    SUBCASE("the remote latest") {
      auto resumed = make_run(data, "3ep", [&](TrainerOptions& o) {
        cache(o);
        o.load_path(uri + "/latest-rank0.pt.symlink");
      });
      CHECK(resumed.trainer->state().timestamp.batch() == 10);
    }
    SUBCASE("a key that does not exist: a CheckpointError naming the URI") {
      CHECK_THROWS_WITH_AS(make_run(data, "3ep", [&](TrainerOptions& o) {
                             cache(o);
                             o.load_path(uri + "/ep9-ba45-rank0.pt");
                           }),
                           doctest::Contains(("load_path '" + uri + "/ep9-ba45-rank0.pt'").c_str()), CheckpointError);
    }
  }

  TEST_CASE("uploads that fail keep the local copies, warn during training and fail fit() at its end") {
    auto data = blobs(20);
    TempDir dir;
    WorkingFolder here(dir / "work");
    std::ofstream(dir / "blocker") << "a file where the store's folder would be";
    const auto uri = "file://" + (dir / "blocker") + "/ck";
    auto run = make_run(data, "2ep", [&](TrainerOptions& o) {
      o.save_folder(uri).save_interval("1ep").save_num_checkpoints_to_keep(0);
    });
    CapturedStderr err;
    CHECK_THROWS_WITH_AS(run.trainer->fit(), doctest::Contains("checkpoint upload(s) failed at the end of training"),
                         CheckpointError);
    const auto text = err.text();
    CHECK(text.find("the local copy is kept; the next save tries again") != std::string::npos);
    // Nothing local was lost: both checkpoints are still on disk.
    CHECK(checkpoints_in((dir / "blocker").substr(1) + "/ck") ==
          std::vector<std::string>{"ep1-ba5-rank0.pt", "ep2-ba10-rank0.pt"});
  }

  TEST_CASE("bad remote save folders and load paths are refused before training") {
    auto data = blobs(8);
    CHECK_THROWS_WITH_AS(make_run(data, "1ep", [](TrainerOptions& o) { o.save_folder("gs://bucket/ck"); }),
                         doctest::Contains("\"gs://\" of \"gs://bucket/ck\" is not supported"), ConfigError);
    CHECK_THROWS_WITH_AS(make_run(data, "1ep", [](TrainerOptions& o) { o.load_path("s3:///key.pt"); }),
                         doctest::Contains("names no bucket"), ConfigError);
    CHECK_THROWS_WITH_AS(make_run(data, "1ep", [](TrainerOptions& o) { o.save_folder("file://host/ck"); }),
                         doctest::Contains("names the host 'host'"), ConfigError);
  }
}
