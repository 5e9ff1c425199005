// Faults during checkpoint saving: a full disk (a real, small tmpfs), a save folder that turns
// into a file, temporaries left by killed saves, and names that try to leave the save folder.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/serialization/checkpoint_file.h"
#include "support/capture_stderr.h"
#include "support/faulty_io.h"
#include "support/fixtures.h"

using namespace tempo;
using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

using Names = std::vector<std::string>;


// A small tmpfs mounted on a fresh folder, unmounted when the test ends, however it ends.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& size) {
    if (::geteuid() != 0) {
      why_not_ = "not running as root";
      return;
    }
    if (::mount("tempo_test_tmpfs", dir_.path().c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_not_ = std::string("mount failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  std::string operator/(const std::string& name) const { return dir_ / name; }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_not_;
};

// At the end of batch `fill_at` (before its checkpoint) fills the disk holding `filler` to the
// last byte; at the end of batch `free_at` deletes the filler again.
class FillDisk : public Callback {
 public:
  FillDisk(std::string filler, int64_t fill_at, int64_t free_at = -1)
      : filler_(std::move(filler)), fill_at_(fill_at), free_at_(free_at) {}

 protected:
  void on_batch_end(State& state, Logger&) override {
    if (state.timestamp.batch() == fill_at_) {
      const int fd = ::open(filler_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      REQUIRE(fd >= 0);
      const std::vector<char> block(64 * 1024, 'x');
      size_t size = block.size();
      while (size > 0) {
        const ssize_t n = ::write(fd, block.data(), size);
        if (n < 0 && errno == ENOSPC) {
          size /= 2;  // top up the last partial block
        } else {
          REQUIRE(n >= 0);
        }
      }
      ::close(fd);
    }
    if (state.timestamp.batch() == free_at_) fs::remove(filler_);
  }

 private:
  std::string filler_;
  int64_t fill_at_, free_at_;
};

// At the end of batch `at`, moves the save folder away and puts a regular file in its place.
class FolderBecomesFile : public Callback {
 public:
  FolderBecomesFile(std::string folder, int64_t at) : folder_(std::move(folder)), at_(at) {}

 protected:
  void on_batch_end(State& state, Logger&) override {
    if (state.timestamp.batch() != at_) return;
    fs::rename(folder_, folder_ + ".moved");
    std::ofstream(folder_) << "not a folder";
  }

 private:
  std::string folder_;
  int64_t at_;
};

// From the end of batch `from` to the end of batch `to`, every checkpoint write hits a disk that
// answers fsync with EIO: the run's Env (State::env, serialization/env.h) is swapped for one that
// fails, and back.
class FailingFsync : public Callback {
 public:
  FailingFsync(int64_t from, int64_t to) : from_(from), to_(to) {}

 protected:
  void on_batch_end(State& state, Logger&) override {
    if (state.timestamp.batch() == from_) {
      previous_ = state.env;
      state.env = &io_;
    }
    if (state.timestamp.batch() == to_ && previous_ != nullptr) state.env = previous_;
  }

 private:
  int64_t from_, to_;
  FaultyIo io_{FaultyIo::Call::fsync, EIO};
  Env* previous_ = nullptr;
};

Names without_link(Names names) {
  names.erase(std::remove(names.begin(), names.end(), "latest-rank0.pt"), names.end());
  return names;
}

bool has_temporary(const std::string& folder) {
  for (const auto& name : files_in(folder)) {
    if (name.rfind(".tmp", 0) == 0) return true;
  }
  return false;
}

pid_t dead_pid() {
  for (pid_t pid = 999999; pid > 1000; --pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return pid;
  }
  return -1;
}

}  // namespace

TEST_SUITE("callbacks") {
  TEST_CASE("disk full during a save: a clear error, no partial file, nothing older deleted, latest kept") {
    SmallTmpfs disk("600k");
    if (!disk.mounted()) {
      MESSAGE("skipped: cannot mount a tmpfs (" << disk.why_not() << ")");
      return;
    }
    const auto folder = disk / "ckpt";
    auto run = make_run(blobs(12), "4ba", 42, 7, {std::make_shared<FillDisk>(disk / "filler", 3)}, 4,
                        [&](TrainerOptions& o) {
                          o.save_folder(folder).save_interval("1ba").save_filename("ba{batch}.pt").save_num_checkpoints_to_keep(2);
                        });
    std::string message;
    try {
      run.trainer->fit();
    } catch (const CheckpointError& e) {
      message = e.what();
    }
    MESSAGE("the user sees: " << message);
    CHECK(message.find(folder + "/ba3.pt") != std::string::npos);
    CHECK(message.find("No space left on device") != std::string::npos);
    CHECK(run.trainer->state().timestamp.batch() == 3);  // the run stopped at the failed save
    // Rotation (keep 2) did not run: ba1 is still there; both are complete; latest is on ba2.
    CHECK(without_link(files_in(folder)) == Names{"ba1.pt", "ba2.pt"});
    CHECK_FALSE(has_temporary(folder));
    CHECK(read_checkpoint(folder + "/ba1.pt").toGenericDict().contains("state"));
    CHECK(read_checkpoint(folder + "/ba2.pt").toGenericDict().contains("state"));
    CHECK(fs::read_symlink(folder + "/latest-rank0.pt") == "ba2.pt");
  }

  TEST_CASE("disk full with save_ignore_errors: a warning naming the file, training goes on, later saves land") {
    SmallTmpfs disk("600k");
    if (!disk.mounted()) {
      MESSAGE("skipped: cannot mount a tmpfs (" << disk.why_not() << ")");
      return;
    }
    const auto folder = disk / "ckpt";
    // The disk is full at batch 3's save and has room again at batch 4's.
    auto run = make_run(blobs(12), "5ba", 42, 7, {std::make_shared<FillDisk>(disk / "filler", 3, 4)}, 4,
                        [&](TrainerOptions& o) {
                          o.save_folder(folder)
                              .save_interval("1ba")
                              .save_filename("ba{batch}.pt")
                              .save_num_checkpoints_to_keep(2)
                              .save_ignore_errors(true);
                        });
    std::string err;
    {
      CapturedStderr captured;
      run.trainer->fit();
      err = captured.text();
    }
    MESSAGE("the user sees: " << err);
    CHECK(run.trainer->state().timestamp.batch() == 5);
    CHECK(err.find("warning") != std::string::npos);
    CHECK(err.find(folder + "/ba3.pt") != std::string::npos);
    CHECK(err.find("No space left on device") != std::string::npos);
    CHECK(err.find("training continues") != std::string::npos);
    CHECK(without_link(files_in(folder)) == Names{"ba4.pt", "ba5.pt"});
    CHECK_FALSE(has_temporary(folder));
    CHECK(fs::read_symlink(folder + "/latest-rank0.pt") == "ba5.pt");
    CHECK(read_checkpoint(folder + "/ba5.pt").toGenericDict().contains("state"));
  }

  TEST_CASE("EIO from fsync during a save: the run stops naming the file, older checkpoints and latest intact") {
    TempDir dir;
    const auto folder = dir / "ckpt";
    auto run = make_run(blobs(12), "5ba", 42, 7, {std::make_shared<FailingFsync>(3, 99)}, 4, [&](TrainerOptions& o) {
      o.save_folder(folder).save_interval("1ba").save_filename("ba{batch}.pt").save_num_checkpoints_to_keep(2);
    });
    std::string message;
    try {
      run.trainer->fit();
    } catch (const CheckpointError& e) {
      message = e.what();
    }
    MESSAGE("the user sees: " << message);
    CHECK(message.find(folder + "/ba3.pt") != std::string::npos);
    CHECK(message.find("fsync failed: Input/output error") != std::string::npos);
    CHECK(run.trainer->state().timestamp.batch() == 3);
    CHECK(without_link(files_in(folder)) == Names{"ba1.pt", "ba2.pt"});  // rotation did not run
    CHECK_FALSE(has_temporary(folder));
    CHECK(fs::read_symlink(folder + "/latest-rank0.pt") == "ba2.pt");
    CHECK(read_checkpoint(folder + "/ba2.pt").toGenericDict().contains("state"));
  }

  TEST_CASE("EIO from fsync with save_ignore_errors: a warning, training goes on, the next save lands") {
    TempDir dir;
    const auto folder = dir / "ckpt";
    auto run = make_run(blobs(12), "5ba", 42, 7, {std::make_shared<FailingFsync>(3, 4)}, 4, [&](TrainerOptions& o) {
      o.save_folder(folder).save_interval("1ba").save_filename("ba{batch}.pt").save_num_checkpoints_to_keep(2).save_ignore_errors(true);
    });
    std::string err;
    {
      CapturedStderr captured;
      run.trainer->fit();
      err = captured.text();
    }
    MESSAGE("the user sees: " << err);
    CHECK(run.trainer->state().timestamp.batch() == 5);
    CHECK(err.find(folder + "/ba3.pt") != std::string::npos);
    CHECK(err.find("Input/output error") != std::string::npos);
    CHECK(err.find("training continues") != std::string::npos);
    CHECK(without_link(files_in(folder)) == Names{"ba4.pt", "ba5.pt"});
    CHECK_FALSE(has_temporary(folder));
    CHECK(fs::read_symlink(folder + "/latest-rank0.pt") == "ba5.pt");
  }

  TEST_CASE("an I/O error (the save folder became a file) stops the run with an error naming the path") {
    TempDir dir;
    const auto folder = dir / "ckpt";
    auto configure = [&](bool ignore) {
      return [&, ignore](TrainerOptions& o) {
        o.save_folder(folder).save_interval("1ba").save_filename("ba{batch}.pt").save_ignore_errors(ignore);
      };
    };
    {
      auto run = make_run(blobs(12), "3ba", 42, 7, {std::make_shared<FolderBecomesFile>(folder, 2)}, 4, configure(false));
      std::string message;
      try {
        run.trainer->fit();
      } catch (const CheckpointError& e) {
        message = e.what();
      }
      MESSAGE("the user sees: " << message);
      CHECK(message.find(folder + "/ba2.pt") != std::string::npos);
      CHECK(message.find("Not a directory") != std::string::npos);
      CHECK(run.trainer->state().timestamp.batch() == 2);
      CHECK(files_in(folder + ".moved") == Names{"ba1.pt", "latest-rank0.pt"});
      CHECK(fs::read_symlink(folder + ".moved/latest-rank0.pt") == "ba1.pt");
    }
    fs::remove(folder);
    fs::remove_all(folder + ".moved");
    {
      auto run = make_run(blobs(12), "3ba", 42, 7, {std::make_shared<FolderBecomesFile>(folder, 2)}, 4, configure(true));
      std::string err;
      {
        CapturedStderr captured;
        run.trainer->fit();
        err = captured.text();
      }
      CHECK(run.trainer->state().timestamp.batch() == 3);
      CHECK(err.find(folder + "/ba2.pt") != std::string::npos);
      CHECK(err.find(folder + "/ba3.pt") != std::string::npos);
      CHECK(err.find("Not a directory") != std::string::npos);
    }
  }

  TEST_CASE("temporaries of killed saves are ignored by autoresume and removed at the next start") {
    TempDir dir;
    auto options = [&](TrainerOptions& o) { o.save_folder(dir.path()).save_interval("1ba").autoresume(true); };
    auto first = make_run(blobs(12), "2ba", options);
    first.trainer->fit();

    const pid_t dead = dead_pid();
    REQUIRE(dead > 0);
    const auto dead_tmp = fmt::format(".tmp.ep1-ba3-rank0.pt.{}.0", dead);
    const auto dead_link = fmt::format(".tmp.latest-rank0.pt.{}.1", dead);
    const auto own_tmp = fmt::format(".tmp.ep1-ba3-rank0.pt.{}.7", ::getpid());
    const auto live_tmp = fmt::format(".tmp.ep1-ba3-rank0.pt.{}.0", ::getppid());  // a live other process
    std::ofstream(dir / dead_tmp) << "half a checkpoint";
    std::ofstream(dir / own_tmp) << "half a checkpoint";
    std::ofstream(dir / live_tmp) << "being written";
    std::ofstream(dir / ".tmp.notes") << "not a temporary of ours";
    fs::create_symlink("ep0-ba3-rank0.pt", dir / dead_link);

    std::string err;
    {
      CapturedStderr captured;
      auto resumed = make_run(blobs(12), "3ba", options);
      CHECK(resumed.trainer->state().timestamp.batch() == 2);  // the temporaries were not candidates
      resumed.trainer->fit();
      err = captured.text();
    }
    MESSAGE("the user sees: " << err);
    CHECK(err.find("autoresume skips") == std::string::npos);
    CHECK(err.find(dir / dead_tmp) != std::string::npos);  // each removal is reported
    const auto names = files_in(dir.path());
    auto has = [&](const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
    CHECK_FALSE(has(dead_tmp));
    CHECK_FALSE(has(dead_link));
    CHECK_FALSE(has(own_tmp));
    CHECK(has(live_tmp));  // never touch a live process's temporary
    CHECK(has(".tmp.notes"));
    CHECK(has("ep0-ba3-rank0.pt"));
  }

  TEST_CASE("no name can make the saver write outside its folder, whatever save_ignore_errors says") {
    TempDir dir;
    const auto folder = dir / "ckpt";
    for (bool ignore : {false, true}) {
      CAPTURE(ignore);
      // Names are rendered once when the trainer is built: refused before anything runs.
      CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](TrainerOptions& o) {
                             o.save_folder(folder).save_latest_filename("../latest-{rank}.pt").save_ignore_errors(ignore)
                                 .save_overwrite(true);
                           }),
                           doctest::Contains("would leave the save folder"), ConfigError);
      CHECK_THROWS_WITH_AS(make_run(blobs(12), "1ep", [&](TrainerOptions& o) {
                             o.save_folder(folder).save_filename("sub/../../ba{batch}.pt").save_ignore_errors(ignore)
                                 .save_overwrite(true);
                           }),
                           doctest::Contains("would leave the save folder"), ConfigError);
      CHECK(files_in(dir.path()) == Names{});  // nothing written, not even inside: the names are checked first
    }
  }
}
