#include "tempo/cli/train.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>

#include "tempo/cli/failure.h"
#include "tempo/cli/launch.h"
#include "tempo/configs/config_node.h"
#include "tempo/configs/registry.h"
#include "tempo/configs/run_config.h"
#include "tempo/errors/error.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/trainer/signal_handling.h"
#include "tempo/trainer/trainer.h"

namespace tempo::cli {

namespace {

constexpr char kUsage[] =
    "usage: tempo train CONFIG.yaml [KEY=VALUE ...] [--nproc N] [--print-config | -v]\n"
    "       tempo train --list-keys\n"
    "\n"
    "Trains one run described by CONFIG.yaml, whose keys are Composer's Trainer arguments\n"
    "(max_duration, save_folder, load_path, ...) and the sections model, train_loader,\n"
    "eval_loader, optimizers, schedulers, callbacks and loggers (see docs/config.md).\n"
    "\n"
    "  KEY=VALUE       override a key by its dotted path, the value read as YAML:\n"
    "                  max_duration=3ep optimizers.adam.lr=3e-4 model.mlp.hidden=[512,256]\n"
    "  --print-config  print the resolved config (every default filled in) and exit\n"
    "  -v, --verbose   also print the resolved config before training (it is always saved\n"
    "                  to SAVE_FOLDER/config.yaml when save_folder is set)\n"
    "  --list-keys     print every key the config accepts, with its type and default\n"
    "  --nproc N       start N processes on this machine, ranks 0 to N-1 of one distributed run,\n"
    "                  as torchrun --nproc-per-node N does: each runs this command without\n"
    "                  --nproc, told RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR (127.0.0.1 unless\n"
    "                  set) and MASTER_PORT (a free port unless set), and OMP_NUM_THREADS=1 unless\n"
    "                  set. SIGTERM, SIGINT and SIGHUP are passed on to every rank; when a rank\n"
    "                  fails, the others are sent SIGTERM, and SIGKILL 30 s later\n"
    "  -h, --help      print this help\n"
    "\n"
    "Exit status: 0 done; 2 bad command line, config, data or load_path (nothing was written);\n"
    "1 the run failed after that (writing config.yaml or a checkpoint, an error in training or\n"
    "in your own code); 128+N stopped by signal N (143 SIGTERM, 130 SIGINT) after finishing the\n"
    "batch and saving a checkpoint: run the same command again (with autoresume) to continue.\n"
    "A second signal stops at once. With --nproc: 0 when every rank exits 0, else the status of\n"
    "the first rank that did not. Errors are one line on stderr, \"tempo train: ...\".\n";

void list_keys(std::ostream& out) {
  const auto& r = config::registry();
  out << "trainer\n" << config::schema_table(config::trainer_schema());
  auto table = [&out](const auto& parts) {
    for (const auto& [name, part] : parts.parts()) {
      out << "\n" << parts.kind() << " " << name << "\n";
      if (part.schema) out << config::schema_table(*part.schema);
      else out << "(no schema: the part reads its own keys)\n";
    }
  };
  table(r.models);
  table(r.datasets);
  table(r.optimizers);
  table(r.schedulers);
  table(r.callbacks);
  table(r.loggers);
}

// Whether the checkpoint restores the value at `path` when a run autoresumes: the optimizers'
// hyperparameters (PyTorch's optimizer state holds its param groups' lr, betas, ...; the
// schedulers' base_lrs come back with them) and the seed (state/rank_zero_seed). Everything else
// in the config applies to the resumed run as written (durations, intervals, loggers, schedule
// shapes, the data), and the model's weights are the checkpoint's whatever the config says.
bool restored_by_checkpoint(const std::string& path) {
  if (path == "seed") return true;
  return path.rfind("optimizers.", 0) == 0 && path.size() > 6 && path.substr(path.size() - 6) != ".fused";
}

// An autoresumed run's config against the one the run saved before (`previous`): says what
// changed and which side wins, and returns the config as the run now uses it (the checkpoint's
// values where the checkpoint restores them), for config.yaml. A config.yaml that cannot be read
// is passed over with a warning.
std::string resumed_config(const config::RunConfig& cfg, const std::string& previous, State& state) {
  config::ConfigNode before;
  try {
    before = config::ConfigNode::load_file(previous);
  } catch (const std::exception& e) {
    state.env->warn(fmt::format("autoresume cannot compare the config with the run's earlier one: {}", e.what()));
    return cfg.yaml();
  }
  auto now = config::ConfigNode::parse(cfg.yaml(), previous);
  std::vector<std::string> kept, applied;
  for (const auto& change : config::compare_configs(before, now)) {
    const auto shown = [](const std::string& v) { return v.empty() ? std::string("unset") : v; };
    if (restored_by_checkpoint(change.path) && !change.before.empty() && !change.after.empty()) {
      now.apply_override(change.path + "=" + change.before);
      // A seed drawn afresh for a config without one is no change of the user's.
      if (change.path != "seed") kept.push_back(fmt::format("{}: {} (the config asks {})", change.path, change.before, change.after));
    } else {
      applied.push_back(fmt::format("{}: {} -> {}", change.path, shown(change.before), shown(change.after)));
    }
  }
  if (!kept.empty()) {
    state.env->warn(fmt::format("autoresume continues run '{}' with its checkpoint's values, not the config's, for {}; "
                                "start a new run (load_path and a new run_name) to change them",
                                state.run_name, fmt::join(kept, ", ")));
  }
  if (!applied.empty()) {
    state.env->warn(fmt::format("autoresume continues run '{}' with these changes from its earlier config: {}",
                                state.run_name, fmt::join(applied, ", ")));
  }
  return now.emit();
}

// The resolved config goes beside the checkpoints so a run can always be repeated from them, once
// the saver has claimed the folder: a run refused there (another run holds it, or it holds this
// run's checkpoints and neither autoresume nor save_overwrite is set) leaves its config.yaml as it was.
std::string save_resolved_config(const config::RunConfig& cfg, Trainer& trainer) {
  const auto& saver = trainer.checkpoint_saver();  // the trainer's save_folder: the run's folder
  if (!saver) return "";
  const auto folder = saver->checkpoint_folder().folder(trainer.state());
  std::error_code error;
  trainer.state().env->create_directories(folder, error);
  if (error) {
    throw ConfigError("save_folder '" + folder + "': cannot create the folder for config.yaml and the checkpoints: " +
                      error.message());
  }
  saver->claim(trainer.state());
  const auto path = (std::filesystem::path(folder) / "config.yaml").string();
  // After an autoresume config.yaml stays true to the run: what the checkpoint restored is written
  // as restored, and what the config changed is said.
  const bool autoresumed = !trainer.resumed_from().empty() && cfg.resolved().child("autoresume").as<bool>() &&
                           trainer.resumed_from() != cfg.resolved().child("load_path").as<std::string>();
  std::error_code exists_error;
  const auto text = autoresumed && std::filesystem::is_regular_file(path, exists_error)
                        ? resumed_config(cfg, path, trainer.state())
                        : cfg.yaml();
  AtomicFile file(path, *trainer.state().env, "the resolved config");
  file.write(text.data(), text.size());
  file.commit();
  return path;
}

// "2" -> 2; nothing for what is not a whole number from 1 to 4096.
std::optional<int> parse_nproc(const std::string& text) {
  if (text.empty() || text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos) return {};
  const int n = std::stoi(text);
  if (n < 1 || n > 4096) return {};
  return n;
}

// `tempo train --nproc N ...`: N copies of this program run `train` with the other arguments, as
// ranks 0 to N-1 (cli/launch.h). The config is checked here first, so that a mistake in it is one
// message rather than N; nothing is trained in this process.
int launch_ranks(int nproc, const std::string& file, const std::vector<std::string>& overrides,
                 const std::vector<std::string>& rank_args, std::ostream& err) {
  if (const char* rank = std::getenv("RANK")) {
    err << "tempo train: --nproc: RANK=" << rank << " is set, so this process is already one rank of a "
        << "distributed run (started by tempo train --nproc or torchrun) and would start ranks of its own; "
        << "run it without --nproc, or unset RANK\n";
    return 2;
  }
  try {
    config::RunConfig::load(file, overrides, config::registry());
  } catch (...) {
    err << "tempo train: " << current_exception_message() << "\n";
    return current_exception_is_tempo_error() ? 2 : 1;
  }
  try {
    // The running executable itself, not argv[0]: a user's own program that calls
    // tempo::cli::main with its registered parts launches copies of itself.
    std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe").string(), "train"};
    argv.insert(argv.end(), rank_args.begin(), rank_args.end());
    return launch_local(LaunchOptions().nproc(nproc).messages(err), argv);
  } catch (...) {
    err << "tempo train: --nproc " << nproc << ": " << current_exception_message() << "\n";
    return 1;
  }
}

// "epoch 1, batch 4, sample 64": the position a run stopped or resumed at.
std::string position(const Timestamp& ts) {
  return "epoch " + std::to_string(ts.epoch()) + ", batch " + std::to_string(ts.batch()) + ", sample " +
         std::to_string(ts.sample());
}

}  // namespace

int run_train(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string file;
  std::vector<std::string> overrides;
  bool print_config = false;
  bool verbose = false;
  bool keys = false;
  std::optional<int> nproc;
  std::vector<std::string> rank_args;  // args less --nproc N: each launched rank's command line
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--nproc" || arg.rfind("--nproc=", 0) == 0) {
      const bool joined = arg != "--nproc";
      if (!joined && i + 1 == args.size()) {
        err << "tempo train: --nproc needs a number of processes, e.g. --nproc 2\n";
        return 2;
      }
      const std::string value = joined ? arg.substr(std::string("--nproc=").size()) : args[++i];
      nproc = parse_nproc(value);
      if (!nproc) {
        err << "tempo train: --nproc '" << value << "': expected a whole number of processes from 1 to 4096\n";
        return 2;
      }
      continue;
    }
    rank_args.push_back(arg);
    if (arg == "-h" || arg == "--help") {
      out << kUsage;
      return 0;
    } else if (arg == "--print-config") {
      print_config = true;
    } else if (arg == "-v" || arg == "--verbose") {
      verbose = true;
    } else if (arg == "--list-keys") {
      keys = true;
    } else if (arg.rfind("-", 0) == 0) {
      err << "tempo train: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else if (file.empty() && arg.find('=') == std::string::npos) {
      file = arg;
    } else if (arg.find('=') != std::string::npos) {
      overrides.push_back(arg);
    } else {
      err << "tempo train: override '" << arg << "': expected KEY=VALUE, e.g. max_duration=3ep\n";
      return 2;
    }
  }
  config::register_builtins(config::registry());
  if (keys) {
    list_keys(out);
    return 0;
  }
  if (file.empty()) {
    err << "tempo train: no config file given\n" << kUsage;
    return 2;
  }
  if (nproc && !print_config) return launch_ranks(*nproc, file, overrides, rank_args, err);

  // Everything that can be wrong with the config fails here, before a file is written.
  std::unique_ptr<config::RunConfig> cfg;
  std::unique_ptr<Trainer> trainer;
  try {
    cfg = std::make_unique<config::RunConfig>(config::RunConfig::load(file, overrides, config::registry()));
    if (print_config) {
      out << cfg->yaml();
      return 0;
    }
    trainer = std::make_unique<Trainer>(cfg->build(config::registry()));
  } catch (...) {
    // A bad config, data or load_path is bad input; anything else (a user's factory throwing, say)
    // is a failure.
    err << "tempo train: " << current_exception_message() << "\n";
    return current_exception_is_tempo_error() ? 2 : 1;
  }

  try {
    const auto saved = save_resolved_config(*cfg, *trainer);
    if (!saved.empty()) {
      out << "resolved config saved to " << saved << "\n";
      trainer->logger().upload_file(saved, saved);  // remote_uploader_downloader takes it along
    }
    // The whole resolved config is long; it is in config.yaml, and --print-config shows it.
    if (verbose) out << cfg->yaml();
    if (!trainer->resumed_from().empty()) {
      if (trainer->state().timestamp.batch() == 0) {
        out << "loaded " << trainer->resumed_from() << " (starting at batch 0)\n";
      } else {
        out << "resumed from " << trainer->resumed_from() << " at " << position(trainer->state().timestamp) << "\n";
      }
    }
    out.flush();
    trainer->fit();
  } catch (...) {
    err << "tempo train: " << current_exception_message() << "\n";
    return 1;
  }
  const auto& state = trainer->state();
  // With several ranks rank 0 reports for all (it wrote the checkpoints; the metrics are reduced).
  const bool report = state.rank == 0;
  if (const int signal_number = trainer->stopped_by_signal()) {
    if (!report) return 128 + signal_number;
    const auto& saver = trainer->checkpoint_saver();
    const auto saved = saver ? saver->checkpoint_of_batch(state.timestamp.batch()) : std::string();
    err << "tempo: stopped by " << signal_name(signal_number) << " after batch " << state.timestamp.batch() << "; "
        << (saved.empty() ? std::string("no checkpoint saved (no save_folder, or no batch trained)")
                          : "checkpoint saved to " + saved)
        << "\n";
    return 128 + signal_number;
  }
  if (!report) return 0;
  out << "finished at " << position(state.timestamp) << "\n";
  // The last batch's loss and training metrics, then each evaluator's metrics; a metric that saw no
  // batch in this process (nothing trained or evaluated) is left out.
  if (state.loss.defined()) out << "train loss " << state.loss.item<double>() << (state.world_size > 1 ? " (rank 0's)" : "") << "\n";
  for (const auto& [name, metric] : state.train_metrics) {
    if (metric->update_count() > 0) out << "train " << name << " " << metric->compute() << "\n";
  }
  for (const auto& [label, metrics] : state.eval_metrics) {
    for (const auto& [name, metric] : metrics) {
      if (metric->update_count() > 0) out << label << " " << name << " " << metric->compute() << "\n";
    }
  }
  const auto& saver = trainer->checkpoint_saver();
  if (saver && saver->remote()) {
    // The store holds the run; local copies may be gone (save_num_checkpoints_to_keep 0).
    for (const auto& uri : saver->remote_checkpoints()) out << "checkpoint: " << uri << "\n";
  } else {
    for (const auto& path : trainer->saved_checkpoints()) out << "checkpoint: " << path << "\n";
  }
  return 0;
}

int train_command(const std::vector<std::string>& args) { return run_train(args, std::cout, std::cerr); }

}  // namespace tempo::cli
