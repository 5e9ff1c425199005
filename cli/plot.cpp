#include "tempo/cli/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

#include "tempo/cli/failure.h"
#include "tempo/errors/error.h"
#include "tempo/plot/png_writer.h"
#include "tempo/util/json.h"
#include "tempo/util/regular_file.h"

namespace tempo::cli {

namespace {

namespace fs = std::filesystem;

const char* const kUsage =
    "usage: tempo plot RUN_DIR_OR_JSONL [-o OUT.png]\n"
    "\n"
    "Draws the loss, metrics and learning rate that the file logger (loggers: {file: ...})\n"
    "wrote, over batches, as a PNG. A folder is searched for its *.jsonl log.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.png   where to write (default: the log's path with .png)\n"
    "  --help                 show this help\n";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// The log in `dir`: its only *.jsonl, or logs-rank0.jsonl among several.
std::string find_log(const std::string& dir) {
  std::vector<std::string> logs;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->is_regular_file(error) && it->path().extension() == ".jsonl") logs.push_back(it->path().string());
  }
  if (error) throw DataError(fmt::format("cannot list the folder '{}' to find its *.jsonl log: {}", dir, error.message()));
  std::sort(logs.begin(), logs.end());
  if (logs.size() == 1) return logs.front();
  for (const auto& log : logs) {
    if (fs::path(log).filename() == "logs-rank0.jsonl") return log;
  }
  if (logs.empty()) throw DataError(fmt::format("'{}' holds no *.jsonl log (written by the file logger)", dir));
  throw DataError(fmt::format("'{}' holds {} *.jsonl logs and none is logs-rank0.jsonl; name one", dir, logs.size()));
}

// Which panel a series goes to, and its name there.
std::pair<std::string, std::string> group_of(const std::string& name) {
  if (starts_with(name, "loss/")) return {"loss", name.substr(5)};
  if (starts_with(name, "metrics/")) {
    const auto slash = name.find('/', 8);
    if (slash != std::string::npos) return {name.substr(slash + 1), name.substr(8, slash - 8)};
  }
  if (starts_with(name, "lr-")) return {"learning rate", name.substr(3)};
  return {name, name};
}

int panel_rank(const std::string& title, const std::string& first_series) {
  if (title == "loss") return 0;
  if (title == "learning rate") return 2;
  return starts_with(first_series, "metrics/") ? 1 : 3;
}

}  // namespace

std::vector<plot::Panel> panels_from_log(const std::string& path, size_t* num_records) {
  // A long run's log is tens of MB; the cap refuses a device or a runaway file before memory runs out.
  constexpr uint64_t kMaxLogBytes = uint64_t{1} << 30;
  std::string text, why;
  if (!read_regular_file(path, kMaxLogBytes, "a training log", text, why)) {
    throw DataError(fmt::format("cannot read the log '{}': it {}", path, why));
  }
  std::map<std::string, std::map<double, double>> series;  // name -> step -> value (later wins)
  size_t line_number = 0, records = 0;
  for (size_t start = 0; start < text.size();) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos) break;  // a last line cut short by a kill inside its write: not a record
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    JsonValue record;
    try {
      record = parse_json(line, fmt::format("{}:{}", path, line_number));
    } catch (const JsonError& e) {
      throw DataError(e.what());
    }
    const auto* step = record.find("step");
    const auto* metrics = record.find("metrics");
    if (!step || !metrics || step->kind != JsonValue::Kind::number || metrics->kind != JsonValue::Kind::object) continue;
    ++records;
    for (const auto& [name, value] : metrics->object) {
      if (starts_with(name, "time/")) continue;
      if (const auto number = value.as_number()) series[name][step->number] = *number;
    }
  }
  if (num_records) *num_records = records;

  std::map<std::string, plot::Panel> by_title;
  std::map<std::string, std::string> first_series;
  for (const auto& [name, points] : series) {
    const auto [title, label] = group_of(name);
    auto& panel = by_title[title];
    panel.title = title;
    if (!first_series.count(title)) first_series[title] = name;
    plot::Series s{label, {}};
    for (const auto& [x, y] : points) s.points.emplace_back(x, y);
    panel.series.push_back(std::move(s));
  }
  std::vector<plot::Panel> panels;
  for (auto& [title, panel] : by_title) panels.push_back(std::move(panel));
  std::stable_sort(panels.begin(), panels.end(), [&](const plot::Panel& a, const plot::Panel& b) {
    return panel_rank(a.title, first_series[a.title]) < panel_rank(b.title, first_series[b.title]);
  });
  return panels;
}

int run_plot(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string input, output;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      out << kUsage;
      return 0;
    }
    if (arg == "-o" || arg == "--output") {
      if (i + 1 >= args.size()) {
        err << "tempo plot: " << arg << " needs a file name\n" << kUsage;
        return 2;
      }
      output = args[++i];
    } else if (starts_with(arg, "--output=")) {
      output = arg.substr(9);
    } else if (!arg.empty() && arg[0] == '-') {
      err << "tempo plot: unknown option '" << arg << "'\n" << kUsage;
      return 2;
    } else if (input.empty()) {
      input = arg;
    } else {
      err << "tempo plot: unexpected argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (input.empty()) {
    err << kUsage;
    return 2;
  }
  try {
    std::error_code error;
    const std::string log = fs::is_directory(input, error) ? find_log(input) : input;
    if (output.empty()) output = fs::path(log).replace_extension(".png").string();
    size_t records = 0;
    const auto panels = panels_from_log(log, &records);
    if (panels.empty()) throw DataError(fmt::format("'{}' has no metrics to plot ({} records)", log, records));
    std::optional<plot::Canvas> canvas;
    std::string png;
    try {
      canvas = plot::render_chart(panels);
      png = plot::encode_png(*canvas);
    } catch (const PlotError& e) {
      throw PlotError(fmt::format("cannot draw '{}' from '{}': {}", output, log, e.what()));
    }
    std::ofstream file(output, std::ios::binary | std::ios::trunc);
    if (!file) throw PlotError(fmt::format("cannot write the chart '{}': {}", output, std::strerror(errno)));
    file.write(png.data(), static_cast<std::streamsize>(png.size()));
    file.close();
    if (!file) throw PlotError(fmt::format("cannot write the chart '{}': the write failed", output));
    size_t num_series = 0;
    for (const auto& p : panels) num_series += p.series.size();
    out << fmt::format("wrote {} ({}x{}, {} panels, {} series, {} records)\n", output, canvas->width(), canvas->height(),
                       panels.size(), num_series, records);
    return 0;
  } catch (...) {
    err << "tempo plot: " << current_exception_message() << "\n";
    return 2;
  }
}

int plot_command(const std::vector<std::string>& args) { return run_plot(args, std::cout, std::cerr); }

}  // namespace tempo::cli
