// A 5x7 bitmap font for printable ASCII (32..126), drawn for tempo's charts. Each glyph is seven
// rows, top first; bit 4 of a row is its leftmost pixel. Characters outside that range draw as '?'.
#pragma once

#include <array>
#include <cstdint>

namespace tempo::plot {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = kGlyphWidth + 1;  // a column of space between characters

const std::array<uint8_t, kGlyphHeight>& glyph(char c);

}  // namespace tempo::plot
