// Every failure of `tempo train` is one line on stderr and a documented exit status (cli/main.h),
// whatever throws: the user's own callback (std::runtime_error, std::bad_alloc, an int), the
// standard library's file system calls, tempo itself. Nothing reaches std::terminate.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <new>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/cli/export.h"
#include "tempo/cli/inspect.h"
#include "tempo/cli/main.h"
#include "tempo/cli/plot.h"
#include "tempo/cli/train.h"
#include "cli/cli_support.h"
#include "configs/config_test_support.h"
#include "tempo/trainer/trainer.h"

namespace {

using tempo::testing::run_cli;

// Throws `what` ("runtime_error", "bad_alloc" or "int") when built ("build") or at the end of
// batch 2 ("batch").
class ThrowingCallback : public tempo::Callback {
 public:
  explicit ThrowingCallback(std::string what) : what_(std::move(what)) {}
  static void raise(const std::string& what) {
    if (what == "bad_alloc") throw std::bad_alloc();
    if (what == "int") throw 42;
    throw std::runtime_error("the user's callback gave up\non two lines");
  }

 protected:
  void on_batch_end(tempo::State&, tempo::Logger&) override {
    if (++batches_ == 2) raise(what_);
  }

 private:
  std::string what_;
  int batches_ = 0;
};

void register_throwing_callback() {
  tempo::config::registry().add_callback("test_throwing", [](const tempo::config::Args& a) {
    const auto what = a.get<std::string>("what", "runtime_error");
    if (a.get<std::string>("when", "batch") == "build") ThrowingCallback::raise(what);
    return std::make_shared<ThrowingCallback>(what);
  });
}

std::string config_file(const tempo::testing::TempDir& dir, const std::string& extra) {
  const auto path = dir / "run.yaml";
  tempo::testing::write_file(path, tempo::testing::tiny_config(extra));
  return path;
}

bool one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("an exception from the user's callback is one line and status 1, when built or in training") {
    register_throwing_callback();
    tempo::testing::TempDir dir;
    const struct {
      std::string what, when, message;
    } cases[] = {
        {"runtime_error", "batch", "std::runtime_error: the user's callback gave up on two lines"},
        {"runtime_error", "build", "std::runtime_error: the user's callback gave up on two lines"},
        {"bad_alloc", "batch", "out of memory (std::bad_alloc)"},
        {"int", "batch", "an exception that is not a std::exception"},
        {"int", "build", "an exception that is not a std::exception"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.what);
      CAPTURE(c.when);
      const auto path =
          config_file(dir, "callbacks:\n  test_throwing: {what: " + c.what + ", when: " + c.when + "}\n");
      const auto r = run_cli({path});
      CHECK(r.status == 1);
      CHECK(r.err == "tempo train: " + c.message + "\n");
      CHECK(one_line(r.err));
    }
  }

  TEST_CASE("tempo::cli::main returns the documented status for a throwing callback") {
    register_throwing_callback();
    tempo::testing::TempDir dir;
    const auto path = config_file(dir, "callbacks:\n  test_throwing: {what: runtime_error}\n");
    const char* argv[] = {"tempo", "train", path.c_str()};
    CHECK(tempo::cli::main(3, const_cast<char**>(argv)) == 1);
  }

  TEST_CASE("a save_folder that is a regular file is one line naming it, status 1, nothing trained") {
    tempo::testing::TempDir dir;
    const auto file = dir / "not-a-folder";
    tempo::testing::write_file(file, "x");
    const auto path = config_file(dir, "save_folder: " + file + "\n");
    const auto r = run_cli({path});
    CHECK(r.status == 1);
    CHECK(one_line(r.err));
    CHECK(r.err.find("tempo train: save_folder '" + file + "': cannot create the folder for config.yaml") == 0);
    CHECK(r.out.find("finished") == std::string::npos);

    // Below a file: the same.
    const auto below = run_cli({path, "save_folder=" + file + "/checkpoints"});
    CHECK(below.status == 1);
    CHECK(one_line(below.err));
    CHECK(below.err.find("tempo train: save_folder '" + file + "/checkpoints': cannot create the folder") == 0);
  }

  TEST_CASE("a config.yaml that cannot be written is named as config.yaml, not as a checkpoint") {
    tempo::testing::TempDir dir;
    std::filesystem::create_directories(dir / "run/config.yaml");  // a folder where the file goes
    const auto path = config_file(dir, "save_folder: " + dir / "run" + "\n");
    const auto r = run_cli({path});
    CHECK(r.status == 1);
    CHECK(r.err == "tempo train: cannot write the resolved config '" + dir / "run/config.yaml" + "': it is a folder\n");
  }

  TEST_CASE("a FIFO or a device named as a file ends at once in a one-line error, in every command") {
    tempo::testing::TempDir dir;
    const auto fifo = dir / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // A reader that blocks in open() on the FIFO is freed after 10 s by a writer that opens and
    // closes it, so a regression fails here instead of hanging the suite.
    std::atomic<bool> done{false};
    std::atomic<bool> freed{false};
    std::thread watchdog([&] {
      for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      while (!done) {
        const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0) {
          freed = true;
          ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    using tempo::testing::run_command;
    const auto inspect = run_command(tempo::cli::run_inspect, {fifo});
    const auto exported = run_command(tempo::cli::run_export, {fifo, dir / "out.safetensors"});
    const auto plot = run_command(tempo::cli::run_plot, {fifo, "-o", dir / "out.png"});
    const auto train = run_command(tempo::cli::run_train, {fifo});
    const auto zero = run_command(tempo::cli::run_train, {"/dev/zero"});
    done = true;
    watchdog.join();
    CHECK_FALSE(freed);
    for (const auto* r : {&inspect, &exported, &plot, &train, &zero}) {
      CAPTURE(r->err);
      CHECK(r->status == 2);
      CHECK(one_line(r->err));
    }
    CHECK(inspect.err.find("is not a regular file") != std::string::npos);
    CHECK(exported.err.find("is not a regular file") != std::string::npos);
    CHECK(plot.err.find("it is a FIFO, not a regular file") != std::string::npos);
    CHECK(train.err.find("cannot read the config file: it is a FIFO, not a regular file") != std::string::npos);
    CHECK(zero.err.find("/dev/zero: cannot read the config file: it is a device, not a regular file") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "out.safetensors"));
  }

  TEST_CASE("a run refused at its save folder leaves that folder's config.yaml as it was") {
    tempo::testing::TempDir dir;
    const auto folder = dir / "ck";
    const auto path = config_file(dir, "save_folder: " + folder + "\nsave_interval: 2ba\n");
    REQUIRE(run_cli({path}).status == 0);
    const auto before = tempo::testing::read_text(folder + "/config.yaml");
    const auto again = run_cli({path, "seed=99"});
    CHECK(again.status == 1);
    CHECK(again.err.find("already holds checkpoints") != std::string::npos);
    CHECK(tempo::testing::read_text(folder + "/config.yaml") == before);
  }

  TEST_CASE("two runs on one save folder: the second is refused at once, naming the holder's pid") {
    tempo::testing::TempDir dir;
    const auto folder = dir / "ck";
    const auto path = config_file(dir, "save_folder: " + folder + "\nsave_interval: 2ba\n");
    auto r = tempo::testing::builtin_registry();
    auto holder = std::make_unique<tempo::Trainer>(
        tempo::config::RunConfig::load(path, {}, r).build(r));
    holder->checkpoint_saver()->claim(holder->state());  // as `tempo train` does before config.yaml

    const auto second = run_cli({path, "save_overwrite=true"});
    CHECK(second.status == 1);
    CHECK(one_line(second.err));
    CHECK(second.err == "tempo train: save folder '" + folder + "' is in use by process " + std::to_string(::getpid()) +
                            ": two runs must not write one folder; wait for that run to end, or choose another "
                            "save_folder\n");
    CHECK_FALSE(std::filesystem::exists(folder + "/config.yaml"));

    holder.reset();  // the holder ends: the lock goes with it
    CHECK(run_cli({path}).status == 0);
    CHECK(std::filesystem::exists(folder + "/config.yaml"));
  }
}
