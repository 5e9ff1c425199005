#include <doctest/doctest.h>

#include "tempo/errors/error.h"
#include "tempo/plot/bitmap_font.h"
#include "tempo/plot/line_chart.h"
#include "tempo/plot/png_writer.h"
#include "plot/png_check.h"

using namespace tempo::plot;
using tempo::testing::decode_png;

TEST_SUITE("plot") {
  TEST_CASE("png: signature, chunk CRCs, dimensions and the pixels, inflated") {
    Canvas canvas(7, 5, {10, 20, 30});
    canvas.set(0, 0, {255, 0, 0});
    canvas.set(6, 4, {0, 255, 0});
    canvas.set(7, 0, {1, 1, 1});   // outside: ignored
    canvas.set(-1, 2, {1, 1, 1});  // outside: ignored
    const auto png = decode_png(encode_png(canvas));
    CHECK(png.width == 7);
    CHECK(png.height == 5);
    CHECK(png.chunk_types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK(png.rgb == canvas.rgb());
    CHECK(png.pixel(0, 0) == std::array<uint8_t, 3>{255, 0, 0});
    CHECK(png.pixel(6, 4) == std::array<uint8_t, 3>{0, 255, 0});
    CHECK(png.pixel(3, 2) == std::array<uint8_t, 3>{10, 20, 30});
    CHECK_THROWS_WITH_AS(Canvas(0, 5), "canvas size 0x5 is outside 1..16384", tempo::PlotError);
    CHECK_THROWS_AS(render_chart({Panel{"loss", {}}}, ChartOptions{20000, 320, 1}), tempo::PlotError);
  }

  TEST_CASE("canvas lines and text land where they should") {
    Canvas canvas(20, 12);
    const Color red{255, 0, 0};
    canvas.line(1, 1, 11, 6, red);
    CHECK(canvas.pixel(1, 1) == red);
    CHECK(canvas.pixel(11, 6) == red);
    CHECK(canvas.pixel(3, 2) == red);  // on the exact line
    CHECK(canvas.pixel(9, 5) == red);
    CHECK(canvas.pixel(1, 6) == Color{255, 255, 255});
    canvas.line(0, 10, 19, 10, red);
    for (int x = 0; x < 20; ++x) CHECK(canvas.pixel(x, 10) == red);

    Canvas text(20, 9);
    text.text(1, 1, "1", Color{0, 0, 0});
    // '1': rows .##.. in the second row, ### at the bottom (x 1..5, y 1..7).
    CHECK(text.pixel(1 + 2, 1 + 0) == Color{0, 0, 0});
    CHECK(text.pixel(1 + 1, 1 + 1) == Color{0, 0, 0});
    CHECK(text.pixel(1 + 0, 1 + 0) == Color{255, 255, 255});
    for (int x = 1; x <= 3; ++x) CHECK(text.pixel(1 + x, 1 + 6) == Color{0, 0, 0});
    CHECK(Canvas::text_width("abc") == 17);
    CHECK(Canvas::text_width("abc", 2) == 34);
    CHECK(glyph('\x01') == glyph('?'));
  }

  TEST_CASE("line chart: a straight series' pixels are on the line, the rest is background") {
    Panel panel{"loss", {{"y=x", {}}}};
    for (int i = 0; i <= 10; ++i) panel.series[0].points.emplace_back(i, i);
    ChartOptions options;
    const auto canvas = render_chart({panel}, options);
    CHECK(canvas.width() == options.panel_width);  // one panel: one column
    CHECK(canvas.height() == options.panel_height);
    const auto frame = panel_frame(panel, 0, 0, options.panel_width, options.panel_height);
    CHECK(frame.x_min == 0);
    CHECK(frame.x_max == 10);
    CHECK(frame.y_min == 0);
    CHECK(frame.y_max == 10);
    CHECK(frame.y_step == 2);
    const auto color = series_color(0);
    for (double v : {0.5, 1.0, 2.5, 5.0, 7.25, 9.0, 10.0}) {
      CAPTURE(v);
      CHECK(canvas.pixel(frame.px(v), frame.py(v)) == color);
    }
    // Off the line and off the grid lines (ticks every 2): white.
    CHECK(canvas.pixel(frame.px(3), frame.py(7)) == Color{255, 255, 255});
    CHECK(canvas.pixel(frame.px(7), frame.py(3)) == Color{255, 255, 255});
    // The axes.
    CHECK(canvas.pixel(frame.left, (frame.top + frame.bottom) / 2) != Color{255, 255, 255});
    CHECK(canvas.pixel((frame.left + frame.right) / 2, frame.bottom) != Color{255, 255, 255});
    // The same through the PNG.
    const auto png = decode_png(encode_png(canvas));
    const auto p = png.pixel(frame.px(5), frame.py(5));
    CHECK(p == std::array<uint8_t, 3>{color.r, color.g, color.b});
  }

  TEST_CASE("line chart layout and tick labels") {
    ChartOptions options;
    CHECK(chart_size(1, options) == std::pair<int, int>{560, 320});
    CHECK(chart_size(3, options) == std::pair<int, int>{1120, 640});
    CHECK(panel_origin(2, 3, options) == std::pair<int, int>{0, 320});
    CHECK(format_tick(0.5, 0.1) == "0.5");
    CHECK(format_tick(2, 0.5) == "2.0");
    CHECK(format_tick(1500, 500) == "1500");
    CHECK(format_tick(-1e-17, 0.2) == "0.0");
    CHECK(format_tick(2e-4, 1e-4) == "0.0002");
    CHECK(format_tick(3e7, 1e7) == "3e+07");
    // A constant series gets room around it; gaps (NaN) break the line without failing.
    Panel flat{"lr", {{"a", {{0, 0.001}, {5, 0.001}, {6, std::nan("")}, {9, 0.001}}}}};
    const auto frame = panel_frame(flat, 0, 0, 560, 320);
    CHECK(frame.y_min < 0.001);
    CHECK(frame.y_max > 0.001);
    CHECK_NOTHROW(render_chart({flat, flat, flat}));
  }
}
