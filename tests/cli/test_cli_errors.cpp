// Every failure of `tempo train` is one line on stderr and a documented exit status (cli/main.h),
// whatever throws: the user's own callback (std::runtime_error, std::bad_alloc, an int), the
// standard library's file system calls, tempo itself. Nothing reaches std::terminate.
#include <doctest/doctest.h>

#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "callbacks/callback.h"
#include "cli/main.h"
#include "configs/config_test_support.h"

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
}
