// FunctionScheduler: a Composer scheduler written as a plain function, as Composer accepts any
// callable (state) -> alpha or (state, ssr) -> alpha:
//   FunctionScheduler([](const State& s, double) { return s.timestamp.epoch() < 10 ? 1.0 : 0.5; })
// It is compiled and stepped like every ComposerScheduler (optim/composer_scheduler.h). A function
// of the state alone cannot be stretched: compile() throws ConfigError for a scale_schedule_ratio
// other than 1, as Composer raises ValueError.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "tempo/errors/error.h"
#include "tempo/optim/composer_scheduler.h"

namespace tempo {

class FunctionScheduler : public ComposerScheduler {
 public:
  using WithRatio = std::function<double(const State&, double ssr)>;
  using WithoutRatio = std::function<double(const State&)>;

  explicit FunctionScheduler(WithRatio function, std::string type_name = "FunctionScheduler")
      : with_ratio_(std::move(function)), type_name_(std::move(type_name)) {
    if (!with_ratio_) throw ConfigError(type_name_ + ": the function is empty");
  }
  explicit FunctionScheduler(WithoutRatio function, std::string type_name = "FunctionScheduler")
      : without_ratio_(std::move(function)), type_name_(std::move(type_name)) {
    if (!without_ratio_) throw ConfigError(type_name_ + ": the function is empty");
  }

  double operator()(const State& state, double ssr = 1.0) const override {
    return with_ratio_ ? with_ratio_(state, ssr) : without_ratio_(state);
  }
  std::string type_name() const override { return type_name_; }

 protected:
  void check_run(const State& /*state*/, double ssr) const override {
    if (without_ratio_ && ssr != 1.0) {
      throw ConfigError(type_name_ + ": does not support scale_schedule_ratio; to use it, the function must take "
                                     "(const State&, double ssr)");
    }
  }

 private:
  WithRatio with_ratio_;
  WithoutRatio without_ratio_;
  std::string type_name_;
};

}  // namespace tempo
