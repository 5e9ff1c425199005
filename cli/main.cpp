#include "tempo/cli/main.h"

#include <torch/version.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "tempo/cli/export.h"
#include "tempo/cli/failure.h"
#include "tempo/cli/inspect.h"
#include "tempo/cli/plot.h"
#include "tempo/cli/train.h"
#include "tempo/state/version.h"

namespace tempo::cli {

namespace {
constexpr char kUsage[] =
    "usage: tempo <command> [args]\n"
    "\n"
    "commands:\n"
    "  train CONFIG.yaml [KEY=VALUE ...]   train a run described in YAML\n"
    "  inspect CHECKPOINT                  show what a checkpoint holds\n"
    "  export CHECKPOINT ...               write a checkpoint's weights in another format\n"
    "  plot RUN_DIR_OR_JSONL [-o OUT.png]  draw a run's loss, metrics and learning rate as a PNG\n"
    "\n"
    "  tempo <command> --help   help on one command\n"
    "  tempo --version          print the version\n";
}  // namespace

std::string version() { return std::string("tempo ") + kTempoVersion + " (LibTorch " + TORCH_VERSION + ")"; }

namespace {

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--version" || command == "-V") {
    std::cout << version() << "\n";
    return 0;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "train") return train_command(rest);
  if (command == "inspect") return inspect_command(rest);
  if (command == "export") return export_command(rest);
  if (command == "plot") return plot_command(rest);
  std::cerr << "tempo: unknown command '" << command << "'\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Past the file-size limit (ulimit -f) a write fails with EFBIG and the command reports it,
  // instead of the process dying by SIGXFSZ with a temporary file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  // The commands report their own errors; this is for what they did not expect, so that nothing
  // reaches std::terminate (status 134 and a core dump instead of a message).
  try {
    return dispatch(argc, argv);
  } catch (...) {
    std::cout.flush();
    std::cerr << "tempo: error: " << current_exception_message() << "\n";
    return 1;
  }
}

}  // namespace tempo::cli
