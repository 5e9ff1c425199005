// The logger destinations a config can name (`loggers:`), under Composer's names and with
// Composer's argument names where Composer has them; see loggers/*.h for what each does. Their keys
// are described in configs/option_descriptions.cpp.
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/registry.h"
#include "tempo/loggers/console_logger.h"
#include "tempo/loggers/file_logger.h"
#include "tempo/loggers/progress_bar_logger.h"
#include "tempo/loggers/remote_uploader_downloader.h"
#include "tempo/loggers/tensorboard_logger.h"

namespace tempo::config {

void register_builtin_loggers(Registry& r) {
  if (!r.loggers.contains("progress_bar")) {
    r.add_logger("progress_bar", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<ProgressBarLogger>(progress_bar_logger_description().read(a.node()));
    }, progress_bar_logger_description().schema());
  }
  if (!r.loggers.contains("console")) {
    r.add_logger("console", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<ConsoleLogger>(console_logger_description().read(a.node()));
    }, console_logger_description().schema());
  }
  if (!r.loggers.contains("file")) {
    r.add_logger("file", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<FileLogger>(file_logger_description().read(a.node()));
    }, file_logger_description().schema());
  }
  if (!r.loggers.contains("tensorboard")) {
    r.add_logger("tensorboard", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<TensorBoardLogger>(tensorboard_logger_description().read(a.node()));
    }, tensorboard_logger_description().schema());
  }
  if (!r.loggers.contains("remote_uploader_downloader")) {
    r.add_logger("remote_uploader_downloader", [](const Args& a) -> std::shared_ptr<LoggerDestination> {
      return std::make_shared<RemoteUploaderDownloader>(remote_uploader_downloader_description().read(a.node()));
    }, remote_uploader_downloader_description().schema());
  }
}

}  // namespace tempo::config
