// Line charts of training curves: panels laid out in a grid, each with a title, axes with "nice"
// ticks (1, 2 or 5 times a power of ten) and tick labels, light grid lines, one coloured line per
// series (broken at non-finite values; a series of at most 40 points also gets a 5x5 marker at
// each point) and a legend when there are several series. The x axis
// is the step (batch count). Free of LibTorch; render_chart's canvas is encoded by png_writer.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tempo/plot/canvas.h"

namespace tempo::plot {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order
};

struct Panel {
  std::string title;
  std::vector<Series> series;
};

struct ChartOptions {
  int panel_width = 560;
  int panel_height = 320;
  int columns = 2;  // fewer when there are fewer panels
};

// Where a panel's data lands: its plot area in pixels (left <= x <= right, top <= y <= bottom)
// and the data range that spans it.
struct PanelFrame {
  int left = 0, top = 0, right = 0, bottom = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double x_step = 1, y_step = 1;  // tick spacing
  int px(double x) const;
  int py(double y) const;
};

// The frame of `panel` drawn in the box (x, y, width, height).
PanelFrame panel_frame(const Panel& panel, int x, int y, int width, int height);

// The size render_chart gives: columns x rows panels (at least one).
std::pair<int, int> chart_size(size_t num_panels, const ChartOptions& options);
// The i-th panel's box origin.
std::pair<int, int> panel_origin(size_t i, size_t num_panels, const ChartOptions& options);

// The i-th series' colour (matplotlib's "tab10", cycled).
Color series_color(size_t i);

// All panels on one canvas. Throws PlotError when the options make it wider or taller than a
// Canvas can be (16384 pixels).
Canvas render_chart(const std::vector<Panel>& panels, const ChartOptions& options = {});

// A tick label: as few decimals as the step needs; very large or small values in e-notation.
std::string format_tick(double value, double step);

}  // namespace tempo::plot
