// The logger destinations a config can name (`loggers:`), under Composer's names and with
// Composer's argument names where Composer has them; see loggers/*.h for what each does.
#include "configs/registry.h"
#include "loggers/console_logger.h"
#include "loggers/file_logger.h"
#include "loggers/progress_bar_logger.h"
#include "loggers/tensorboard_logger.h"

namespace tempo::config {

void register_builtin_loggers(Registry& r) {
  if (!r.loggers.contains("progress_bar")) {
    r.add_logger("progress_bar", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      ProgressBarLoggerOptions options;
      options.stream(a.get<std::string>("stream"))
          .refresh_interval_s(a.get<double>("refresh_interval_s"))
          .plain_interval_percent(a.get<double>("plain_interval_percent"))
          .plain_interval_s(a.get<double>("plain_interval_s"))
          .bar_width(a.get<int64_t>("bar_width"))
          .checkpoint_min_mb(a.get<double>("checkpoint_min_mb"));
      if (a.has("force_terminal")) options.force_terminal(a.get<bool>("force_terminal"));
      return std::make_shared<ProgressBarLogger>(options);
    }, Schema{{"stream", "string", "stderr", "stderr or stdout"},
              {"force_terminal", "bool", "null", "Redraw in place (true) or print plain lines (false); null: when the stream is a terminal"},
              {"refresh_interval_s", "float", "0.1", "Terminal: least seconds between redraws"},
              {"plain_interval_percent", "float", "10.0", "Not a terminal: a line per this much progress"},
              {"plain_interval_s", "float", "60.0", "Not a terminal: a line at least this often (seconds)"},
              {"bar_width", "int", "25", "Characters of the bar (terminal)"},
              {"checkpoint_min_mb", "float", "64.0", "A bar while saving or loading checkpoints of this many MiB or more"}});
  }
  if (!r.loggers.contains("console")) {
    r.add_logger("console", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<ConsoleLogger>(
          ConsoleLoggerOptions().log_interval(a.get<Time>("log_interval")).stream(a.get<std::string>("stream")));
    }, Schema{{"log_interval", "interval", "1ba", "How often to print the metrics (ba or ep)"},
              {"stream", "string", "stderr", "stderr or stdout"}});
  }
  if (!r.loggers.contains("file")) {
    r.add_logger("file", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<FileLogger>(FileLoggerOptions()
                                              .filename(a.get<std::string>("filename"))
                                              .flush_interval(a.get<int64_t>("flush_interval"))
                                              .overwrite(a.get<bool>("overwrite")));
    }, Schema{{"filename", "string", "\"{run_name}/logs-rank{rank}.jsonl\"", "JSON Lines file (format string)"},
              {"flush_interval", "int", "100", "Batches between writes to the file"},
              {"overwrite", "bool", "false", "Replace an existing file when a fresh run starts"}});
  }
  if (!r.loggers.contains("tensorboard")) {
    r.add_logger("tensorboard", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<TensorBoardLogger>(TensorBoardLoggerOptions()
                                                     .log_dir(a.get<std::string>("log_dir"))
                                                     .flush_interval(a.get<int64_t>("flush_interval"))
                                                     .rank_zero_only(a.get<bool>("rank_zero_only")));
    }, Schema{{"log_dir", "string", "tensorboard_logs", "Folder of the runs; this run writes to LOG_DIR/RUN_NAME"},
              {"flush_interval", "int", "100", "Batches between writes to the file"},
              {"rank_zero_only", "bool", "true", "Only rank 0 writes"}});
  }
}

}  // namespace tempo::config
