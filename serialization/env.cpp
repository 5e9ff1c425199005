#include "tempo/serialization/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace tempo {
namespace fs = std::filesystem;

Env& Env::posix() {
  // Never destroyed: a background save may still call it while static destructors run.
  static Env* env = new Env();
  return *env;
}

int Env::open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
ssize_t Env::write(int fd, const void* data, size_t size) { return ::write(fd, data, size); }
int Env::fsync(int fd) { return ::fsync(fd); }
int Env::close(int fd) { return ::close(fd); }
int Env::rename(const char* from, const char* to) { return std::rename(from, to); }
int Env::link(const char* existing, const char* new_path) { return ::link(existing, new_path); }
int Env::symlink(const char* target, const char* link_path) { return ::symlink(target, link_path); }
int Env::unlink(const char* path) { return ::unlink(path); }
int Env::truncate(const char* path, off_t size) { return ::truncate(path, size); }

void Env::create_directories(const std::string& path, std::error_code& error) {
  error.clear();
  if (!path.empty()) fs::create_directories(path, error);
}

void Env::copy_file(const std::string& from, const std::string& to, std::error_code& error) {
  error.clear();
  fs::copy_file(from, to, error);
}

std::string Env::read_link(const std::string& path, std::error_code& error) {
  error.clear();
  return fs::read_symlink(path, error).string();
}

std::vector<Env::Child> Env::list(const std::string& folder, std::error_code& error) {
  std::vector<Child> children;
  error.clear();
  for (auto it = fs::directory_iterator(folder, fs::directory_options::skip_permission_denied, error);
       !error && it != fs::directory_iterator(); it.increment(error)) {
    std::error_code ignored;  // an entry that vanished meanwhile is listed as unknown
    Child child;
    child.name = it->path().filename().string();
    child.type = it->symlink_status(ignored).type();
    child.time = it->is_symlink(ignored) ? fs::file_time_type() : it->last_write_time(ignored);
    children.push_back(std::move(child));
  }
  if (error) children.clear();
  return children;
}

void Env::warn(const std::string& message) {
  // One write, so that lines from the writer thread and the training thread do not interleave.
  const std::string line = "tempo: warning: " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tempo
