// `tempo plot RUN_DIR_OR_JSONL [-o OUT.png]`: the curves of a run, from the file logger's JSON
// Lines (loggers/file_logger.h), as a PNG written by tempo itself (plot/). One panel per group
// over the step (batch count): "loss" (every loss/... series), one per metric name (its
// metrics/<label>/<Name> series, labelled by evaluator: train, eval...), "learning rate" (the
// lr-... series) and one for each other series; time/... series are left out. A step logged
// twice (a resumed run) keeps its later value. A folder is searched for its *.jsonl file
// (logs-rank0.jsonl when there are several). OUT defaults to the log's path with .png.
//
// Never throws: an unreadable log, a malformed line (named by file and line), a log with no
// metrics (DataError) or a chart that cannot be drawn or written (PlotError, naming OUT) is one
// line on `err` ("tempo plot: <reason>") and exit status 2; bad
// usage prints the usage on `err` and returns 2; --help prints it on `out` and returns 0. On
// success prints "wrote OUT (WxH, P panels, S series, R records)" on `out` and returns 0.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "tempo/plot/line_chart.h"

namespace tempo::cli {

// The panels of the log at `path` (a .jsonl file), grouped as above. Throws DataError naming the
// file when it cannot be opened, and its line when a record is malformed.
std::vector<plot::Panel> panels_from_log(const std::string& path, size_t* num_records = nullptr);

// The command as the `tempo` dispatcher runs it: args are those after "plot".
int plot_command(const std::vector<std::string>& args);

// The same, writing to the given streams (for tests).
int run_plot(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tempo::cli
