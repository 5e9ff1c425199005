// tempo's version, written into every checkpoint's state/metadata and printed by `tempo --version`.
// Keep it equal to project(VERSION) in CMakeLists.txt.
#pragma once

namespace tempo {

inline constexpr const char* kTempoVersion = "0.1.0";

}  // namespace tempo
