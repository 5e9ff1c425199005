// A Python benchmark script's "serve" mode (benchmarks/*.py): one long-lived interpreter driven
// one line at a time over pipes, so that start-up and `import torch` are never timed. The script
// prints "ready" once torch is imported, then answers each command with "ok <numbers>" or
// "error <message>"; "quit" ends it.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

class PythonSide {
 public:
  PythonSide(const std::string& python, const std::string& script) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("pipe failed");
    std::fflush(nullptr);  // else the child's stdio would repeat our unflushed output
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::close(to_child[0]);
      ::close(to_child[1]);
      ::close(from_child[0]);
      ::close(from_child[1]);
      ::execl(python.c_str(), python.c_str(), script.c_str(), "serve", static_cast<char*>(nullptr));
      const std::string message = "error cannot run " + python + ": " + std::strerror(errno) + "\n";
      (void)!::write(1, message.data(), message.size());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
    const std::string first = read_line();
    ready_ = first == "ready";
    if (!ready_) why_not_ = first.empty() ? "python exited without a word" : first;
  }
  ~PythonSide() {
    if (in_) {
      std::fputs("quit\n", in_);
      std::fclose(in_);
    }
    if (out_) std::fclose(out_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  PythonSide(const PythonSide&) = delete;
  PythonSide& operator=(const PythonSide&) = delete;

  bool ready() const { return ready_; }
  const std::string& why_not() const { return why_not_; }

  // Sends one command; returns the numbers after "ok", throws on "error ...".
  std::vector<double> ask(const std::string& command) {
    std::fprintf(in_, "%s\n", command.c_str());
    std::fflush(in_);
    const std::string reply = read_line();
    if (reply.rfind("ok", 0) != 0)
      throw std::runtime_error("python '" + command + "': " + (reply.empty() ? "no reply" : reply));
    std::istringstream fields(reply.substr(2));
    std::vector<double> values;
    double x = 0;
    while (fields >> x) values.push_back(x);
    return values;
  }

 private:
  std::string read_line() {
    char* line = nullptr;
    size_t cap = 0;
    const ssize_t n = ::getline(&line, &cap, out_);
    std::string text = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
    std::free(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }

  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  bool ready_ = false;
  std::string why_not_;
};

}  // namespace bench
