// Text shared by the console loggers: metric values as Composer's format_log_data_value prints
// them, durations as tqdm does, and the "Config:" block of hyperparameters.
#pragma once

#include <string>

#include "tempo/callbacks/logger.h"

namespace tempo {

// 0.693147 -> "0.6931" (four decimals, Composer's); NaN -> "nan", infinities -> "inf"/"-inf".
std::string format_metric_value(double value);

// Seconds as "MM:SS", or "H:MM:SS" from an hour on; "?" for a negative or non-finite time.
std::string format_duration(double seconds);

// Composer's block: a line of 30 '*', "Config:", one "key: value" line each, 30 '*', each line
// ending in '\n'. Empty when there are no hyperparameters.
std::string format_hyperparameters(const Hyperparameters& hyperparameters);

}  // namespace tempo
