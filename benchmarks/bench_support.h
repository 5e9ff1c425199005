// What every benchmark here shares: robust statistics over repetitions, the RESULT lines that
// benchmarks/run.sh gathers into one table, and running a Python comparison as a child process.
// Header-only so each benchmark stays one translation unit.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
inline double min_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::min_element(v.begin(), v.end()); }
inline double max_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::max_element(v.begin(), v.end()); }

// Element-wise a[i] / b[i]: ratios of measurements taken side by side in the same repetition.
inline std::vector<double> ratios(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) out.push_back(a[i] / b[i]);
  return out;
}

// One row of the suite's table: "RESULT\t<benchmark>\t<what>\t<median>\t<min>\t<max>\t<goal>\t<verdict>".
// `goal` is "<= 0.7", ">= 0.8" or "" (reported only); the verdict compares the median with it.
inline void result(const std::string& benchmark, const std::string& what, const std::vector<double>& values,
                   const std::string& goal) {
  const double m = median(values);
  std::string verdict = "-";
  if (goal.size() > 3) {
    const double bound = std::atof(goal.c_str() + 3);
    const bool below = goal.compare(0, 2, "<=") == 0;
    verdict = (below ? m <= bound : m >= bound) ? "met" : "MISSED";
  }
  std::printf("RESULT\t%s\t%s\t%.3f\t%.3f\t%.3f\t%s\t%s\n", benchmark.c_str(), what.c_str(), m, min_of(values),
              max_of(values), goal.empty() ? "-" : goal.c_str(), verdict.c_str());
  std::fflush(stdout);
}

// A training run's wall time and the test accuracy it reached.
struct Timed {
  double seconds = 0;
  double accuracy = 0;
};

// Runs every contender once a repetition, in an order rotated each repetition (seed 17 + rep),
// printing each run as it ends and then a table by contender; fills seconds[i] and accuracy[i].
inline void run_rotated(const std::vector<std::string>& names, int reps,
                        const std::function<Timed(size_t which, uint64_t seed)>& run,
                        std::vector<std::vector<double>>& seconds, std::vector<std::vector<double>>& accuracy) {
  seconds.assign(names.size(), {});
  accuracy.assign(names.size(), {});
  for (int rep = 0; rep < reps; ++rep) {
    const uint64_t seed = 17 + static_cast<uint64_t>(rep);
    for (size_t j = 0; j < names.size(); ++j) {
      const size_t which = (j + static_cast<size_t>(rep)) % names.size();
      const Timed t = run(which, seed);
      seconds[which].push_back(t.seconds);
      accuracy[which].push_back(t.accuracy);
      std::printf("  rep %d  %-12s %7.3f s  test accuracy %.4f\n", rep, names[which].c_str(), t.seconds, t.accuracy);
      std::fflush(stdout);
    }
  }
  std::printf("\n%-12s %10s %18s %14s\n", "", "median s", "min-max s", "accuracy med");
  for (size_t j = 0; j < names.size(); ++j) {
    std::printf("%-12s %10.3f %8.3f-%-8.3f %14.4f\n", names[j].c_str(), median(seconds[j]), min_of(seconds[j]),
                max_of(seconds[j]), median(accuracy[j]));
  }
}

// The Python whose torch is tempo's LibTorch (TEMPO_PYTHON: .venv's torch 2.13 for the wheel's
// LibTorch), so that a comparison is about the frameworks, not two builds of torch.
inline std::string default_python() {
#ifdef TEMPO_PYTHON
  if (std::string(TEMPO_PYTHON).size() > 0) return TEMPO_PYTHON;
#endif
  return "/usr/bin/python3";
}

// Runs `command` through the shell and returns its standard output; throws if it fails.
inline std::string run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("failed (status " + std::to_string(status) + "): " + command + "\n" + out);
  }
  return out;
}

// The number after "key": in a line of flat JSON; NaN when absent.
inline double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return NAN;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

}  // namespace bench
