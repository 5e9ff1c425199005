// An RGB raster to draw charts on: pixels, filled rectangles, lines and text in the built-in
// 5x7 font (plot/bitmap_font.h). Drawing outside the canvas, or outside the clip rectangle when
// one is set, is silently cut off. Rows are stored top first, 3 bytes (R, G, B) per pixel.
// Only the constructor throws (tempo::PlotError).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tempo::plot {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Color& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Color& o) const { return !(*this == o); }
};

class Canvas {
 public:
  // Throws PlotError naming the size unless 1 <= width, height <= 16384.
  Canvas(int width, int height, Color background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& rgb() const { return rgb_; }
  Color pixel(int x, int y) const;

  void set(int x, int y, Color c);
  // The pixels x0 <= x < x1, y0 <= y < y1.
  void fill_rect(int x0, int y0, int x1, int y1, Color c);
  // A straight line through the centres of the pixels at both ends (Bresenham), `thickness`
  // pixels wide (a square brush extending right and down).
  void line(int x0, int y0, int x1, int y1, Color c, int thickness = 1);
  // Text with its top-left corner at (x, y), each font pixel drawn as scale x scale pixels.
  void text(int x, int y, std::string_view s, Color c, int scale = 1);
  static int text_width(std::string_view s, int scale = 1);
  static int text_height(int scale = 1);

  // Only pixels with x0 <= x < x1 and y0 <= y < y1 are drawn until clear_clip().
  void clip(int x0, int y0, int x1, int y1);
  void clear_clip();

 private:
  int width_, height_;
  int clip_x0_, clip_y0_, clip_x1_, clip_y1_;
  std::vector<uint8_t> rgb_;
};

}  // namespace tempo::plot
