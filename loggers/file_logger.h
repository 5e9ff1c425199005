// FileLogger (YAML `file`): the run's metrics as JSON Lines, one object per line, for scripts
// (pandas.read_json(path, lines=True)) and `tempo plot`. Composer's FileLogger options
// (filename as a format string, flush_interval in batches, overwrite); its records are JSON:
//   {"step": 12, "epoch": 0, "batch": 12, "batch_in_epoch": 12, "sample": 48, "token": 0, "total_wct": 0.53,
//    "wall_time": 1718000000.25, "metrics": {"loss/train/total": 0.6931, ...}}
// one per logged step, holding every metric logged at that step (step = the batch count the
// trainer logs with; the timestamp fields are the run's when the step's first metric came;
// wall_time is Unix time in seconds), and {"wall_time": ..., "hyperparameters": {...}} for
// hyperparameters. A step's record is written once the run has moved past that step, so it is
// complete; metrics logged for a step after its record was written (the final evaluation after
// FIT_END) get a second record for that step. Non-finite values are the strings "nan", "inf", "-inf".
//
// Durability: records are handed to the kernel (one write(2) each, so the file only ever holds
// whole lines) every flush_interval batches, at each EPOCH_END, EVAL_END and FIT_END (which also
// fsyncs), so a process killed even by SIGKILL loses at most the records of the last interval.
// (Linux can cut a write(2) short only when the process is killed inside that very call while
// the record straddles a page of the file; readers here, `tempo plot` and a resumed run, ignore a
// last line without its newline.)
//
// The file is opened after the checkpoint is loaded (AFTER_LOAD). A resumed run appends to it,
// first cutting it back to the records of steps up to the resumed batch, so the log reads as one
// run (the resumed step may then have two records: readers merge a step's records, later
// values winning). A fresh run refuses an existing non-empty file unless overwrite (Composer's
// rule). Throws ConfigError for a bad filename pattern, flush_interval < 1, a file that cannot
// be opened, or an existing file without overwrite.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <optional>
#include <string>

#include "tempo/callbacks/logger.h"
#include "tempo/callbacks/name_format.h"
#include "tempo/loggers/record_writer.h"
#include "tempo/time/timestamp.h"

namespace tempo {

struct FileLoggerOptions {
  // A format string over Composer's variables ({run_name}, {rank}, ...: callbacks/name_format.h).
  TORCH_ARG(std::string, filename) = "{run_name}/logs-rank{rank}.jsonl";
  // Batches between writes to the file.
  TORCH_ARG(int64_t, flush_interval) = 100;
  // Replace an existing file when a fresh (not resumed) run starts.
  TORCH_ARG(bool, overwrite) = false;
};

class FileLogger : public LoggerDestination {
 public:
  explicit FileLogger(FileLoggerOptions options = {});
  ~FileLogger() override;

  void log_metrics(const Metrics& metrics, int64_t step) override;
  void log_hyperparameters(const Hyperparameters& hyperparameters) override;

  // The file written; empty until AFTER_LOAD.
  const std::string& filename() const { return writer_.path(); }
  const FileLoggerOptions& options() const { return options_; }

 protected:
  void on_event(Event event, State& state, Logger& logger) override;
  void on_after_load(State& state, Logger& logger) override;
  void on_fit_start(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_fit_end(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;

 private:
  void upload(Logger& logger);
  struct Pending {
    int64_t step = 0;
    Timestamp timestamp;
    double wall_time = 0;
    Metrics metrics;
  };
  void emit();
  void open(const State& state);

  FileLoggerOptions options_;
  NameFormat filename_;
  RecordWriter writer_;
  Timestamp timestamp_;  // the run's, as of the last event
  std::optional<Pending> pending_;
  bool fitting_ = false;
};

}  // namespace tempo
