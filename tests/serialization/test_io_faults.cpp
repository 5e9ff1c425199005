// I/O faults in the middle of a durable write, injected through the Env a write is given (serialization/env.h): EIO or
// ENOSPC on a write (at the first byte and deep inside the tensor records), a failed fsync of the
// file or of its folder, a failed rename. Each must end in a CheckpointError naming the file and
// the OS error, leave no temporary, and leave an older file of that name exactly as it was.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/safetensors.h"
#include "serialization_support.h"
#include "support/faulty_io.h"

using namespace tempo;
using namespace tempo::testing;
using Call = FaultyIo::Call;

namespace {

// The message write_checkpoint(tree, path) throws under `io`, or "no error".
std::string save_error(FaultyIo& io, const c10::IValue& tree, const std::string& path) {
  try {
    write_checkpoint(tree, path, {}, io);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_SUITE("serialization") {
  TEST_CASE("an I/O error at any step of a save: CheckpointError naming file and errno, no temporary, old file intact") {
    const c10::IValue old_tree = sample_tree();
    struct Case {
      const char* what;
      Call call;
      int err;
      size_t skip;
      const char* says;
    };
    // The sample tree's file is a few KiB: 1000 bytes lands inside the pickle/tensor records.
    const Case cases[] = {
        {"EIO on the first write", Call::write, EIO, 0, "write failed: Input/output error"},
        {"EIO mid-file", Call::write, EIO, 1000, "write failed: Input/output error"},
        {"ENOSPC mid-file", Call::write, ENOSPC, 1000, "write failed: No space left on device"},
        {"EIO on the file's fsync", Call::fsync, EIO, 0, "fsync failed: Input/output error"},
        {"EIO on the rename", Call::rename, EIO, 0, "rename failed: Input/output error"},
    };
    for (const auto& c : cases) {
      INFO(c.what);
      ScratchFolder folder;
      const std::string path = folder.file("ckpt.pt");
      write_checkpoint(old_tree, path);
      const std::string before = read_bytes(path);

      auto changed = sample_tree().toGenericDict();
      changed.insert_or_assign("extra", std::string("new"));
      FaultyIo io(c.call, c.err, c.skip);
      const std::string message = save_error(io, changed, path);
      CHECK(io.failures() == 1);
      CHECK(message.find("'" + path + "'") != std::string::npos);
      CHECK(message.find(c.says) != std::string::npos);
      CHECK(folder.entries() == std::vector<std::string>{"ckpt.pt"});  // no temporary left
      CHECK(read_bytes(path) == before);
      check_same_tree(read_checkpoint(path), old_tree);
    }
  }

  TEST_CASE("a failed fsync of the folder after the rename is reported: the save may not be durable") {
    ScratchFolder folder;
    const std::string path = folder.file("ckpt.pt");
    FaultyIo io(Call::fsync, EIO, /*skip=*/1);  // the file's fsync succeeds, the folder's fails
    const std::string message = save_error(io, sample_tree(), path);
    CHECK(message.find("cannot sync folder of '" + path + "': Input/output error") != std::string::npos);
    // The rename happened: the file is whole, and a reader accepts it.
    check_same_tree(read_checkpoint(path), sample_tree());
  }

  TEST_CASE("safetensors writes go through the same seam") {
    ScratchFolder folder;
    const std::string path = folder.file("w.safetensors");
    FaultyIo io(Call::write, EIO, 10);
    CHECK_THROWS_WITH_AS(write_safetensors({{"w", at::ones({64})}}, {}, path, io),
                         doctest::Contains("write failed: Input/output error"), CheckpointError);
    // The message says what is written: a safetensors file is not a checkpoint.
    CHECK_THROWS_WITH_AS(write_safetensors({{"w", at::ones({64})}}, {}, path, io),
                         doctest::Contains(("cannot write safetensors file '" + path + "'").c_str()), CheckpointError);
    CHECK(folder.entries().empty());
  }

  TEST_CASE("the Env is per call: a faulty one given to one write leaves every other write alone") {
    ScratchFolder folder;
    FaultyIo io(Call::write, EIO);
    CHECK_THROWS_AS(write_checkpoint(sample_tree(), folder.file("bad.pt"), {}, io), CheckpointError);
    write_checkpoint(sample_tree(), folder.file("ok.pt"));  // the default Env: the process's own
    check_same_tree(read_checkpoint(folder.file("ok.pt")), sample_tree());
    CHECK(io.failures() == 1);
    CHECK(folder.entries() == std::vector<std::string>{"ok.pt"});
  }

  TEST_CASE("links, renames, removals and listings go through the Env, and so do warnings") {
    // Counts what a save asks of the operating system, and collects warnings instead of printing.
    struct Recorder : EnvWrapper {
      Recorder() : EnvWrapper(Env::posix()) {}
      int opens = 0, writes = 0, fsyncs = 0, renames = 0, symlinks = 0, links = 0, unlinks = 0, lists = 0;
      std::vector<std::string> warnings;
      int open(const char* p, int f, mode_t m) override { ++opens; return EnvWrapper::open(p, f, m); }
      ssize_t write(int fd, const void* d, size_t n) override { ++writes; return EnvWrapper::write(fd, d, n); }
      int fsync(int fd) override { ++fsyncs; return EnvWrapper::fsync(fd); }
      int rename(const char* a, const char* b) override { ++renames; return EnvWrapper::rename(a, b); }
      int symlink(const char* a, const char* b) override { ++symlinks; return EnvWrapper::symlink(a, b); }
      int link(const char* a, const char* b) override { ++links; return EnvWrapper::link(a, b); }
      int unlink(const char* p) override { ++unlinks; return EnvWrapper::unlink(p); }
      std::vector<Child> list(const std::string& f, std::error_code& e) override { ++lists; return EnvWrapper::list(f, e); }
      void warn(const std::string& message) override { warnings.push_back(message); }
    } env;
    ScratchFolder folder;
    write_checkpoint(sample_tree(), folder.file("a.pt"), {}, env);
    CHECK(env.opens == 2);    // the temporary, then the folder for its fsync
    CHECK(env.fsyncs == 2);   // the file, then the folder
    CHECK(env.renames == 1);
    CHECK(env.writes > 0);
    atomic_symlink("a.pt", folder.file("latest.pt"), env);
    CHECK(env.symlinks == 1);
    atomic_hard_link(folder.file("a.pt"), folder.file("best.pt"), env);
    CHECK(env.links == 1);
    CHECK(env.renames == 3);
    std::error_code error;
    CHECK(env.list(folder.path(), error).size() == 3);
    CHECK(env.lists == 1);
    env.warn("kept, not printed");
    CHECK(env.warnings == std::vector<std::string>{"kept, not printed"});
  }

  TEST_CASE("without hard links the copy goes through the Env") {
    struct NoHardLinks : EnvWrapper {
      NoHardLinks() : EnvWrapper(Env::posix()) {}
      int copies = 0;
      int link(const char*, const char*) override {
        errno = EXDEV;  // another file system
        return -1;
      }
      void copy_file(const std::string& from, const std::string& to, std::error_code& error) override {
        ++copies;
        EnvWrapper::copy_file(from, to, error);
      }
    } env;
    ScratchFolder folder;
    write_checkpoint(sample_tree(), folder.file("a.pt"), {}, env);
    atomic_hard_link(folder.file("a.pt"), folder.file("best.pt"), env);
    CHECK(env.copies == 1);
    CHECK(read_bytes(folder.file("best.pt")) == read_bytes(folder.file("a.pt")));
    CHECK_FALSE(std::filesystem::is_symlink(folder.file("best.pt")));
  }
}
