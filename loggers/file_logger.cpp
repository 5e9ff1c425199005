#include "tempo/loggers/file_logger.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"
#include "tempo/util/json.h"

namespace tempo {

namespace {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Cuts a resumed run's log back to its whole lines of steps up to `step` (and the lines without
// a step, such as hyperparameters, before them).
void cut_back(const std::string& path, int64_t step, Env& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;  // no log yet
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t keep = 0;
  while (keep < text.size()) {
    const auto end = text.find('\n', keep);
    if (end == std::string::npos) break;  // a torn last line
    try {
      const auto record = parse_json(std::string_view(text).substr(keep, end - keep), path);
      const auto* s = record.find("step");
      if (s && s->kind == JsonValue::Kind::number && s->number > static_cast<double>(step)) break;
    } catch (const JsonError&) {
      // not ours to judge: left as it is
    }
    keep = end + 1;
  }
  if (keep == text.size()) return;
  if (env.truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
    throw ConfigError(fmt::format("file logger: cannot cut '{}' back to step {} for the resumed run: {}", path, step,
                                  std::strerror(errno)));
  }
}

}  // namespace

FileLogger::FileLogger(FileLoggerOptions options)
    : options_(std::move(options)), filename_(options_.filename(), "file.filename"), writer_("file logger") {
  if (options_.filename().empty()) throw ConfigError("file.filename: expected a file name, got an empty string");
  if (options_.flush_interval() < 1) {
    throw ConfigError(fmt::format("file.flush_interval: expected a number of batches >= 1, got {}",
                                  options_.flush_interval()));
  }
}

FileLogger::~FileLogger() {
  emit();
  writer_.close();
}

void FileLogger::log_metrics(const Metrics& metrics, int64_t step) {
  if (pending_ && pending_->step != step) emit();
  if (!pending_) pending_ = Pending{step, timestamp_, unix_time(), {}};
  for (const auto& [name, value] : metrics) pending_->metrics[name] = value;
}

void FileLogger::log_hyperparameters(const Hyperparameters& hyperparameters) {
  std::string line = fmt::format("{{\"wall_time\": {}, \"hyperparameters\": {{", json_number(unix_time()));
  const char* separator = "";
  for (const auto& [key, value] : hyperparameters) {
    line += fmt::format("{}{}: {}", separator, json_quote(key), json_quote(value));
    separator = ", ";
  }
  writer_.add(line + "}}\n");
}

void FileLogger::emit() {
  if (!pending_) return;
  const auto& p = *pending_;
  const auto& t = p.timestamp;
  std::string line = fmt::format(
      "{{\"step\": {}, \"epoch\": {}, \"batch\": {}, \"batch_in_epoch\": {}, \"sample\": {}, \"token\": {}, "
      "\"total_wct\": {}, \"wall_time\": {}, \"metrics\": {{",
      p.step, t.epoch(), t.batch(), t.batch_in_epoch(), t.sample(), t.token(), json_number(t.total_wct()), json_number(p.wall_time));
  const char* separator = "";
  for (const auto& [name, value] : p.metrics) {
    line += fmt::format("{}{}: {}", separator, json_quote(name), json_number(value));
    separator = ", ";
  }
  writer_.add(line + "}}\n");
  pending_.reset();
}

void FileLogger::open(const State& state) {
  if (writer_.is_open()) return;
  const auto path = filename_.format(state);
  bool truncate = false;
  if (state.timestamp.batch() > 0) {
    cut_back(path, state.timestamp.batch(), *state.env);  // a resumed run continues its log
  } else {
    std::error_code error;
    if (std::filesystem::exists(path, error) && std::filesystem::file_size(path, error) > 0 && !error) {
      if (!options_.overwrite()) {
        throw ConfigError(fmt::format("file logger: '{}' already exists; set overwrite: true to replace it, or "
                                      "resume the run it belongs to",
                                      path));
      }
      truncate = true;
    }
  }
  writer_.open(path, truncate, *state.env);
  writer_.flush();
}

void FileLogger::on_event(Event, State& state, Logger&) {
  timestamp_ = state.timestamp;
  // The run has moved past the pending step: no more metrics can come for it.
  if (pending_ && pending_->step != state.timestamp.batch()) emit();
}

void FileLogger::on_after_load(State& state, Logger&) { open(state); }

void FileLogger::on_fit_start(State& state, Logger&) {
  open(state);
  fitting_ = true;
}

void FileLogger::on_batch_end(State& state, Logger& logger) {
  if (state.timestamp.batch() % options_.flush_interval() != 0) return;
  writer_.flush();
  upload(logger);
}

void FileLogger::on_epoch_end(State&, Logger& logger) {
  writer_.flush();
  upload(logger);
}

// After a flush the file holds whole records: an uploader (RemoteUploaderDownloader) may copy it.
void FileLogger::upload(Logger& logger) {
  if (writer_.is_open()) logger.upload_file(writer_.path(), writer_.path());
}

void FileLogger::on_eval_end(State&, Logger&) {
  if (!fitting_) emit();  // a standalone or final evaluation: nothing else comes for this step
  writer_.flush();
}

void FileLogger::on_fit_end(State&, Logger& logger) {
  emit();
  writer_.flush(/*sync=*/true);
  fitting_ = false;
  upload(logger);
}

}  // namespace tempo
