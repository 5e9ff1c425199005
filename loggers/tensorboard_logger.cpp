#include "tempo/loggers/tensorboard_logger.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>

#include "tempo/errors/error.h"
#include "tempo/loggers/tfrecord.h"
#include "tempo/state/state.h"
#include "tensorboard_event.pb.h"

namespace tempo {

namespace {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::string frame(const tensorboard::Event& event) { return tfrecord_frame(event.SerializeAsString()); }

}  // namespace

TensorBoardLogger::TensorBoardLogger(TensorBoardLoggerOptions options)
    : options_(std::move(options)), writer_("tensorboard logger") {
  if (options_.flush_interval() < 1) {
    throw ConfigError(fmt::format("tensorboard.flush_interval: expected a number of batches >= 1, got {}",
                                  options_.flush_interval()));
  }
  if (options_.log_dir().empty()) throw ConfigError("tensorboard.log_dir: expected a folder, got an empty string");
}

TensorBoardLogger::~TensorBoardLogger() { writer_.close(); }

void TensorBoardLogger::on_event(Event, State& state, Logger&) {
  active_ = !options_.rank_zero_only() || state.rank == 0;
  step_ = state.timestamp.batch();
}

void TensorBoardLogger::on_init(State& state, Logger&) {
  if (!active_ || writer_.is_open()) return;
  const auto folder = std::filesystem::path(options_.log_dir()) / (state.run_name.empty() ? "run" : state.run_name);
  const double now = unix_time();
  const auto base = folder / fmt::format("events.out.tfevents.{}.{}", static_cast<int64_t>(now), hostname());
  auto path = base;
  std::error_code error;
  for (int n = 0; std::filesystem::exists(path, error); ++n) {
    path = base;
    path += n == 0 ? fmt::format(".{}", ::getpid()) : fmt::format(".{}.{}", ::getpid(), n);
  }
  writer_.open(path.string(), /*truncate=*/true, *state.env);
  tensorboard::Event event;
  event.set_wall_time(now);
  event.set_file_version("brain.Event:2");
  writer_.add_front(frame(event));  // ahead of anything logged before INIT
  writer_.flush();
}

void TensorBoardLogger::log_metrics(const Metrics& metrics, int64_t step) {
  if (!active_ || metrics.empty()) return;
  tensorboard::Event event;
  event.set_wall_time(unix_time());
  event.set_step(step);
  auto* summary = event.mutable_summary();
  for (const auto& [name, value] : metrics) {
    auto* v = summary->add_value();
    v->set_tag(name);
    v->set_simple_value(static_cast<float>(value));
  }
  writer_.add(frame(event));
}

void TensorBoardLogger::log_hyperparameters(const Hyperparameters& hyperparameters) {
  if (!active_ || hyperparameters.empty()) return;
  tensorboard::Event event;
  event.set_wall_time(unix_time());
  event.set_step(step_);
  auto* summary = event.mutable_summary();
  for (const auto& [key, text] : hyperparameters) {
    auto* v = summary->add_value();
    v->set_tag("hyperparameters/" + key);
    // TensorBoard's text plugin: plugin "text" (its TextPluginData version 0 serializes to no
    // bytes), a DT_STRING tensor of shape [1] holding the text (markdown).
    v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
    auto* tensor = v->mutable_tensor();
    tensor->set_dtype(tensorboard::DT_STRING);
    tensor->mutable_tensor_shape()->add_dim()->set_size(1);
    tensor->add_string_val(text);
  }
  writer_.add(frame(event));
}

void TensorBoardLogger::on_batch_end(State& state, Logger& logger) {
  if (state.timestamp.batch() % options_.flush_interval() != 0) return;
  writer_.flush();
  upload(logger);
}

void TensorBoardLogger::on_epoch_end(State&, Logger& logger) {
  writer_.flush();
  upload(logger);
}

// After a flush the file holds whole records: an uploader (RemoteUploaderDownloader) may copy it.
void TensorBoardLogger::upload(Logger& logger) {
  if (writer_.is_open()) logger.upload_file(writer_.path(), writer_.path());
}

void TensorBoardLogger::on_eval_end(State&, Logger&) { writer_.flush(); }

void TensorBoardLogger::on_fit_end(State&, Logger& logger) {
  writer_.flush(/*sync=*/true);
  upload(logger);
}

}  // namespace tempo
