#include "tempo/callbacks/logger.h"

namespace tempo {

Logger::Logger(std::vector<std::shared_ptr<LoggerDestination>> destinations)
    : destinations_(std::move(destinations)) {}

void Logger::log_metrics(const Metrics& metrics, std::optional<int64_t> step) {
  for (auto& destination : destinations_) destination->log_metrics(metrics, step.value_or(step_));
}

void Logger::log_metric_values(const std::string& label, const MetricMap& metrics) {
  if (metrics.empty()) return;
  Metrics logged;
  for (const auto& [name, metric] : metrics) {
    if (metric->update_count() > 0) logged.emplace("metrics/" + label + "/" + name, metric->compute());
  }
  if (!logged.empty()) log_metrics(logged);
}

void Logger::log_checkpoint_progress(const CheckpointProgress& progress) {
  for (auto& destination : destinations_) destination->log_checkpoint_progress(progress);
}

void Logger::upload_file(const std::string& remote_file_name, const std::string& file_path) {
  for (auto& destination : destinations_) destination->upload_file(remote_file_name, file_path);
}

void Logger::log_hyperparameters(const Hyperparameters& hyperparameters) {
  for (auto& destination : destinations_) destination->log_hyperparameters(hyperparameters);
}

}  // namespace tempo
