// CheckpointFolder: the one place that makes, lists and parses a run's checkpoint names.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/state/state.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

// A State at `batches` batches of 4 samples into the run, `per_epoch` batches an epoch.
State state_at(int64_t batches, int64_t per_epoch = 3) {
  State state;
  state.run_name = "r";
  for (int64_t b = 0; b < batches; ++b) {
    state.timestamp = state.timestamp.to_next_batch(4, 0, 0.1);
    if ((b + 1) % per_epoch == 0) state.timestamp = state.timestamp.to_next_epoch();
  }
  return state;
}

void touch(const std::string& path, fs::file_time_type time) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
  fs::last_write_time(path, time);
}

std::vector<std::string> names(const std::vector<CheckpointFolder::Entry>& entries, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(fs::path(e.path).lexically_relative(root).generic_string());
  return out;
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("checkpoint folder: paths of a batch, the latest link, names that leave the folder") {
    TempDir dir;
    CheckpointFolder folder(dir / "{run_name}/ck", "ep{epoch}-ba{batch}-rank{rank}.pt", "latest-rank{rank}.pt");
    const auto state = state_at(4);
    CHECK(folder.folder(state) == dir / "r/ck");
    CHECK(folder.checkpoint_path(state) == dir / "r/ck/ep1-ba4-rank0.pt");
    CHECK(folder.latest_path(state) == dir / "r/ck/latest-rank0.pt");
    CHECK(folder.root(state) == dir / "r/ck");
    CHECK(CheckpointFolder(dir.path(), "x.pt", "").latest_path(state).empty());
    // Every name is rendered once when the folder is made (config time), not first at a save.
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), "../ep{epoch}.pt", ""),
                         "save_filename '../ep{epoch}.pt' gives '../ep0.pt', whose '..' would leave the save folder",
                         ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), "x.pt", "a/../../latest"),
                         doctest::Contains("save_latest_filename 'a/../../latest' gives"), ConfigError);
    for (const std::string name : {".", "ck/", "ck/..", "{run_name}/."}) {
      CAPTURE(name);
      CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), name, ""), doctest::Contains("names a folder, not a checkpoint file"),
                           ConfigError);
    }
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), std::string(300, 'x') + "{batch}.pt", ""),
                         doctest::Contains("gives a name of 304 bytes; a file or folder name has at most 255"), ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), "same.pt", "same.pt"),
                         doctest::Contains("save_latest_filename 'same.pt' is also save_filename"), ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir.path(), "/abs.pt", ""), doctest::Contains("save_filename '/abs.pt' is absolute"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointFolder("", "x.pt", ""), doctest::Contains("save_folder is empty"), ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointFolder(dir / "e{epok}", "x.pt", ""), doctest::Contains("unknown variable '{epok}'"),
                         ConfigError);
  }

  TEST_CASE("checkpoint saver: a constant checkpoint name is refused before training unless it may be replaced") {
    TempDir dir;
    auto options = [&](const std::string& filename) {
      return CheckpointSaverOptions().folder(dir.path()).filename(filename).save_interval("1ba");
    };
    CHECK_THROWS_WITH_AS(CheckpointSaver(options("model.pt")),
                         doctest::Contains(("save_filename 'model.pt' in save_folder '" + dir.path() +
                                            "' names every checkpoint of the run alike")
                                               .c_str()),
                         ConfigError);
    CHECK_NOTHROW(CheckpointSaver(options("model.pt").overwrite(true)));
    CHECK_NOTHROW(CheckpointSaver(options("model.pt").save_interval("1dur")));
    CHECK_NOTHROW(CheckpointSaver(options("ep{epoch}.pt")));
    CHECK_NOTHROW(CheckpointSaver(options("model.pt").folder(dir / "b{batch}")));
  }

  TEST_CASE("checkpoint folder: lists this run's checkpoints newest first, skipping temporaries, links and others") {
    TempDir dir;
    CheckpointFolder folder(dir.path(), "ep{epoch}-ba{batch}-rank{rank}.pt", "latest-rank{rank}.pt");
    const auto now = fs::file_time_type::clock::now();
    touch(dir / "ep0-ba2-rank0.pt", now - std::chrono::seconds(30));
    touch(dir / "ep1-ba4-rank0.pt", now - std::chrono::seconds(20));
    touch(dir / "ep1-ba6-rank0.pt", now - std::chrono::seconds(20));  // as new as ba4: the higher batch first
    touch(dir / "ep0-ba2-rank1.pt", now);                              // another rank's
    touch(dir / "notes.txt", now);
    touch(dir / ".tmp.ep2-ba8-rank0.pt.123.0", now);                  // a save in flight
    fs::create_symlink("ep0-ba2-rank0.pt", dir / "latest-rank0.pt");
    const auto state = state_at(0);
    CHECK(names(folder.list(state), dir.path()) ==
          std::vector<std::string>{"ep1-ba6-rank0.pt", "ep1-ba4-rank0.pt", "ep0-ba2-rank0.pt"});
    const auto entries = folder.list(state);
    CHECK(entries[0].batch == 6);
    CHECK(entries[2].linked);
    CHECK_FALSE(entries[0].linked);
    // Among equally new files the linked one goes first.
    fs::remove(dir / "latest-rank0.pt");
    fs::create_symlink("ep1-ba4-rank0.pt", dir / "latest-rank0.pt");
    CHECK(names(folder.list(state), dir.path()).front() == "ep1-ba4-rank0.pt");
    CHECK(names(folder.list(state, dir / "ep1-ba4-rank0.pt"), dir.path()) ==
          std::vector<std::string>{"ep1-ba6-rank0.pt", "ep0-ba2-rank0.pt"});
    CHECK(CheckpointFolder(dir / "missing", "x.pt", "").list(state).empty());
  }

  TEST_CASE("checkpoint folder: progress variables in the folder are listed from its fixed root, whatever the epoch") {
    TempDir dir;
    CheckpointFolder folder(dir / "{run_name}/e{epoch}", "ba{batch}.pt", "latest.pt");
    const auto now = fs::file_time_type::clock::now();
    touch(dir / "r/e0/ba2.pt", now - std::chrono::seconds(9));
    touch(dir / "r/e1/ba4.pt", now - std::chrono::seconds(5));
    touch(dir / "r/e1/ba5.pt", now - std::chrono::seconds(1));
    touch(dir / "r/e1/other.pt", now);
    const auto fresh = state_at(0);  // epoch 0: formatting the folder alone would look in r/e0 only
    CHECK(folder.root(fresh) == dir / "r");
    CHECK(folder.folder(fresh) == dir / "r/e0");
    CHECK(names(folder.list(fresh), dir / "r") == std::vector<std::string>{"e1/ba5.pt", "e1/ba4.pt", "e0/ba2.pt"});
    CHECK(folder.checkpoint_path(state_at(5)) == dir / "r/e1/ba5.pt");
  }

  TEST_CASE("checkpoint folder: only s3:// and file:// object stores are taken, never made a local folder 's3:'") {
    for (const char* uri : {"s3://bucket/ck", "file:///tmp/ck", "S3://b/c"}) {
      CAPTURE(uri);
      CHECK(is_object_uri(uri));
      CHECK_NOTHROW(parse_object_uri(uri, "save_folder"));
    }
    for (const char* local : {"", "ck", "/tmp/ck", "runs/a:b", "a:/b", "://x", "1s3://x", "runs/s3://x", "s 3://x"}) {
      CAPTURE(local);
      CHECK_FALSE(is_object_uri(local));
    }
    CHECK(parse_object_uri("s3://bucket/a/b", "x").key == "a/b");
    CHECK(parse_object_uri("file:///tmp/ck", "x").key == "tmp/ck");
    CHECK_THROWS_WITH_AS(parse_object_uri("oci://b/c", "save_folder"),
                         doctest::Contains("save_folder: the object store \"oci://\" of \"oci://b/c\" is not supported"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(parse_object_uri("s3://b/../c", "load_path"), doctest::Contains("has a '..' part"), ConfigError);
    CHECK_THROWS_WITH_AS(CheckpointSaver(CheckpointSaverOptions().folder("gs://b/{run_name}")),
                         doctest::Contains("save_folder: the object store \"gs://\""), ConfigError);
    CHECK_FALSE(fs::exists("s3:"));
  }


  TEST_CASE("checkpoint folder: temporary names are parsed beside the code that makes them") {
    CHECK(is_temporary_name(".tmp.ep0-ba1-rank0.pt.123.0"));
    CHECK_FALSE(is_temporary_name("ep0-ba1-rank0.pt"));
    CHECK(temporary_name_writer(".tmp.ep0-ba1-rank0.pt.123.4") == 123);
    CHECK(temporary_name_writer(".tmp.a.b.77.0") == 77);
    CHECK_FALSE(temporary_name_writer(".tmp.x.0.1"));            // pid 0 is a process group for kill(2)
    CHECK_FALSE(temporary_name_writer(".tmp.x.99999999999.1"));  // past INT_MAX
    CHECK_FALSE(temporary_name_writer(".tmp.x.12"));
    CHECK_FALSE(temporary_name_writer(".tmp.x.y.z"));

    // A dead writer's temporary is removed, a live one's (this test's parent, say) is kept.
    TempDir dir;
    CheckpointFolder folder(dir.path(), "ep{epoch}.pt", "");
    const pid_t dead = [] {
      const pid_t child = fork();
      if (child == 0) _exit(0);
      int status = 0;
      waitpid(child, &status, 0);
      return child;
    }();
    const auto stale = dir / (".tmp.ep0.pt." + std::to_string(dead) + ".0");
    const auto live = dir / (".tmp.ep1.pt." + std::to_string(getppid()) + ".0");
    touch(stale, fs::file_time_type::clock::now());
    touch(live, fs::file_time_type::clock::now());
    const auto removed = folder.remove_stale_temporaries(state_at(0));
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].path == stale);
    CHECK(removed[0].writer == dead);
    CHECK(removed[0].error.empty());
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(live));
  }

  TEST_CASE("checkpoint folder: the folder a latest link needs is made through the run's Env") {
    struct NoFolders : EnvWrapper {
      NoFolders() : EnvWrapper(Env::posix()) {}
      std::vector<std::string> folders;
      void create_directories(const std::string& path, std::error_code& error) override {
        folders.push_back(path);
        error = std::make_error_code(std::errc::permission_denied);
      }
    } env;
    TempDir dir;
    const auto target = dir / "a.pt";
    std::ofstream(target) << "x";
    CHECK_THROWS_WITH_AS(CheckpointFolder::point_latest(target, dir / "links/latest.pt", env),
                         doctest::Contains("cannot create its folder"), CheckpointError);
    CHECK(env.folders == std::vector<std::string>{dir / "links"});
    CHECK_FALSE(fs::exists(dir / "links"));
  }
}
