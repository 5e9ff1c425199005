// util/regular_file.h and util/folder_lock.h: what a user-given path may be, and one claim per folder.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tempo/util/folder_lock.h"
#include "tempo/util/regular_file.h"

using namespace tempo;

namespace {

struct Scratch {
  Scratch() {
    char name[] = "/tmp/tempo-util-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

}  // namespace

TEST_SUITE("util") {
  TEST_CASE("open_regular_file refuses a FIFO without blocking, and devices, folders and sockets by name") {
    Scratch dir;
    const auto fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::string why;
    CHECK(open_regular_file(fifo, why) == -1);  // a blocking open would hang here: no writer ever comes
    CHECK(why == "is a FIFO, not a regular file");
    CHECK(open_regular_file("/dev/zero", why) == -1);
    CHECK(why == "is a device, not a regular file");
    CHECK(open_regular_file(dir.path, why) == -1);
    CHECK(why == "is a folder, not a file");
    CHECK(open_regular_file(dir.file("missing"), why) == -1);
    CHECK(why == "does not exist");

    std::ofstream(dir.file("a.txt")) << "hello";
    uint64_t size = 0;
    const int fd = open_regular_file(dir.file("a.txt"), why, &size);
    REQUIRE(fd >= 0);
    CHECK(size == 5);
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    ::close(fd);
  }

  TEST_CASE("read_regular_file reads a file up to a cap and refuses a larger one or a device") {
    Scratch dir;
    std::ofstream(dir.file("a.yaml")) << "key: value\n";
    std::string text, why;
    CHECK(read_regular_file(dir.file("a.yaml"), 100, "a config", text, why));
    CHECK(text == "key: value\n");
    CHECK_FALSE(read_regular_file(dir.file("a.yaml"), 4, "a config", text, why));
    CHECK(why == "is 11 bytes, more than the 4 bytes a config may be");
    CHECK_FALSE(read_regular_file("/dev/zero", 1 << 20, "a config", text, why));  // would never end
    CHECK(why == "is a device, not a regular file");
  }

  TEST_CASE("FolderLock: one holder at a time, in this process or another; released on close and on death") {
    Scratch dir;
    FolderLock first;
    CHECK(first.acquire(dir.path, ".lock") == "");
    CHECK(first.held());
    FolderLock second;
    CHECK(second.acquire(dir.path, ".lock") == "is in use by process " + std::to_string(::getpid()));
    CHECK_FALSE(second.held());

    // Another process is refused too, and names this one.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      FolderLock other;
      const auto why = other.acquire(dir.path, ".lock");
      ::_exit(why == "is in use by process " + std::to_string(::getppid()) ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

    first.release();
    CHECK(second.acquire(dir.path, ".lock") == "");

    // A holder that dies without releasing (SIGKILL) leaves the file but not the lock.
    second.release();
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
      FolderLock held;
      held.acquire(dir.path, ".lock");
      (void)!::write(ready[1], "x", 1);
      for (;;) ::pause();
    }
    char byte;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    CHECK(second.acquire(dir.path, ".lock") == "is in use by process " + std::to_string(holder));
    ::kill(holder, SIGKILL);
    ::waitpid(holder, &status, 0);
    CHECK(std::filesystem::exists(dir.file(".lock")));
    CHECK(second.acquire(dir.path, ".lock") == "");
    ::close(ready[0]);
    ::close(ready[1]);
  }
}
