#include "tempo/plot/canvas.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "tempo/errors/error.h"
#include "tempo/plot/bitmap_font.h"

namespace tempo::plot {

Canvas::Canvas(int width, int height, Color background) : width_(width), height_(height) {
  if (width < 1 || height < 1 || width > 16384 || height > 16384) {
    throw PlotError("canvas size " + std::to_string(width) + "x" + std::to_string(height) +
                                " is outside 1..16384");
  }
  clear_clip();
  rgb_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Color Canvas::pixel(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::set(int x, int y, Color c) {
  if (x < clip_x0_ || y < clip_y0_ || x >= clip_x1_ || y >= clip_y1_) return;
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  rgb_[i] = c.r;
  rgb_[i + 1] = c.g;
  rgb_[i + 2] = c.b;
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Color c) {
  for (int y = std::max(y0, clip_y0_); y < std::min(y1, clip_y1_); ++y) {
    for (int x = std::max(x0, clip_x0_); x < std::min(x1, clip_x1_); ++x) set(x, y, c);
  }
}

void Canvas::line(int x0, int y0, int x1, int y1, Color c, int thickness) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int error = dx + dy;
  while (true) {
    fill_rect(x0, y0, x0 + thickness, y0 + thickness, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * error;
    if (e2 >= dy) {
      error += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      error += dx;
      y0 += sy;
    }
  }
}

void Canvas::text(int x, int y, std::string_view s, Color c, int scale) {
  for (const char ch : s) {
    const auto& rows = glyph(ch);
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int col = 0; col < kGlyphWidth; ++col) {
        if (rows[static_cast<size_t>(row)] & (0x10 >> col)) {
          fill_rect(x + col * scale, y + row * scale, x + (col + 1) * scale, y + (row + 1) * scale, c);
        }
      }
    }
    x += kGlyphAdvance * scale;
  }
}

int Canvas::text_width(std::string_view s, int scale) {
  return s.empty() ? 0 : (static_cast<int>(s.size()) * kGlyphAdvance - 1) * scale;
}

int Canvas::text_height(int scale) { return kGlyphHeight * scale; }

void Canvas::clip(int x0, int y0, int x1, int y1) {
  clip_x0_ = std::max(0, x0);
  clip_y0_ = std::max(0, y0);
  clip_x1_ = std::min(width_, x1);
  clip_y1_ = std::min(height_, y1);
}

void Canvas::clear_clip() {
  clip_x0_ = clip_y0_ = 0;
  clip_x1_ = width_;
  clip_y1_ = height_;
}

}  // namespace tempo::plot
