// Checkpoint folder and file names as Python format strings over Composer's variables:
// {run_name}, {rank}, {local_rank}, {world_size}, {local_world_size}, {node_rank}, {epoch},
// {batch}, {batch_in_epoch}, {sample}, {sample_in_epoch}, {token}, {token_in_epoch},
// {total_wct}, {epoch_wct}, {batch_wct}, with format specs ({epoch:03d}) and {{ }} escapes.
// Construction checks the whole pattern: an unknown variable, a bad spec or an unbalanced brace
// throws ConfigError naming the option, the pattern and the culprit. matcher() gives a regex that
// matches exactly the names this pattern can produce for one run and rank, and parse() reads the
// progress variables back out of such a name (callbacks/checkpoint_folder.h uses both to find
// the checkpoints earlier runs wrote).
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace tempo {

class State;

class NameFormat {
 public:
  NameFormat(std::string pattern, std::string option);

  std::string format(const State& state) const;
  // Variables that do not change during a run (run name, ranks) are fixed to `state`'s values.
  std::regex matcher(const State& state) const;
  // The values of the progress variables ({epoch}, {batch}, ...) in `text`, as written, when
  // `text` is a name this pattern produces for `state`'s run and rank; nothing otherwise.
  std::optional<std::map<std::string, std::string>> parse(const std::string& text, const State& state) const;
  // Whether the pattern uses a progress variable, so that its value changes during a run.
  bool varies_during_run() const;

  const std::string& pattern() const { return pattern_; }
  bool empty() const { return pattern_.empty(); }

  static const std::vector<std::string>& variables();

 private:
  struct Piece {
    std::string text;  // literal text, or the variable's name
    std::string spec;  // the format spec of a variable, without the colon
    bool is_variable = false;
  };

  std::string pattern_;
  std::string option_;
  std::vector<Piece> pieces_;
};

}  // namespace tempo
