#include "tempo/plot/line_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tempo::plot {

namespace {

constexpr int kMarginLeft = 64, kMarginRight = 18, kMarginTop = 30, kMarginBottom = 34;
const Color kAxis{40, 40, 40}, kGrid{225, 225, 225}, kText{30, 30, 30};

// 1, 2 or 5 times a power of ten, near span / target.
double nice_step(double span, int target) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

// The range [lo, hi] widened to whole steps (a single value gets room around it).
void nice_range(double& lo, double& hi, double& step, int target) {
  if (!(lo < hi)) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  step = nice_step(hi - lo, target);
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
}

}  // namespace

int PanelFrame::px(double x) const {
  return left + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (right - left)));
}

int PanelFrame::py(double y) const {
  return bottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (bottom - top)));
}

PanelFrame panel_frame(const Panel& panel, int x, int y, int width, int height) {
  PanelFrame f;
  f.left = x + kMarginLeft;
  f.right = x + width - kMarginRight;
  f.top = y + kMarginTop;
  f.bottom = y + height - kMarginBottom;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : panel.series) {
    for (const auto& [px, py] : s.points) {
      if (!std::isfinite(px) || !std::isfinite(py)) continue;
      x_lo = std::min(x_lo, px);
      x_hi = std::max(x_hi, px);
      y_lo = std::min(y_lo, py);
      y_hi = std::max(y_hi, py);
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // nothing to draw
  nice_range(x_lo, x_hi, f.x_step, 6);
  nice_range(y_lo, y_hi, f.y_step, 5);
  f.x_min = x_lo, f.x_max = x_hi, f.y_min = y_lo, f.y_max = y_hi;
  return f;
}

std::pair<int, int> chart_size(size_t num_panels, const ChartOptions& options) {
  const size_t n = std::max<size_t>(1, num_panels);
  const size_t columns = std::min<size_t>(n, static_cast<size_t>(std::max(1, options.columns)));
  const size_t rows = (n + columns - 1) / columns;
  return {static_cast<int>(columns) * options.panel_width, static_cast<int>(rows) * options.panel_height};
}

std::pair<int, int> panel_origin(size_t i, size_t num_panels, const ChartOptions& options) {
  const size_t columns = std::min<size_t>(std::max<size_t>(1, num_panels), static_cast<size_t>(std::max(1, options.columns)));
  return {static_cast<int>(i % columns) * options.panel_width, static_cast<int>(i / columns) * options.panel_height};
}

Color series_color(size_t i) {
  static const Color kTab10[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return kTab10[i % 10];
}

std::string format_tick(double value, double step) {
  if (std::abs(value) < step * 1e-6) value = 0;  // no "-0" or 1e-17
  const double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || magnitude < 1e-3) return fmt::format("{:.2g}", value);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", value, decimals);
}

namespace {

void draw_panel(Canvas& canvas, const Panel& panel, int x, int y, int width, int height) {
  const auto f = panel_frame(panel, x, y, width, height);
  // Title, centred (smaller when the large one would not fit).
  const int scale = Canvas::text_width(panel.title, 2) <= width - 8 ? 2 : 1;
  canvas.text(x + (width - Canvas::text_width(panel.title, scale)) / 2, y + (kMarginTop - Canvas::text_height(scale)) / 2,
              panel.title, kText, scale);

  // Grid and tick labels.
  for (double v = f.y_min; v <= f.y_max + f.y_step * 1e-6; v += f.y_step) {
    const int py = f.py(v);
    canvas.line(f.left, py, f.right, py, kGrid);
    const auto label = format_tick(v, f.y_step);
    canvas.text(f.left - 6 - Canvas::text_width(label), py - Canvas::text_height() / 2, label, kText);
  }
  for (double v = f.x_min; v <= f.x_max + f.x_step * 1e-6; v += f.x_step) {
    const int px = f.px(v);
    canvas.line(px, f.top, px, f.bottom, kGrid);
    canvas.line(px, f.bottom, px, f.bottom + 4, kAxis);
    const auto label = format_tick(v, f.x_step);
    canvas.text(px - Canvas::text_width(label) / 2, f.bottom + 7, label, kText);
  }
  canvas.text(f.right - Canvas::text_width("batch"), f.bottom + 7 + Canvas::text_height() + 4, "batch", kText);

  // Axes.
  canvas.line(f.left, f.top, f.left, f.bottom, kAxis);
  canvas.line(f.left, f.bottom, f.right, f.bottom, kAxis);

  // The series, inside the plot area only.
  canvas.clip(f.left, f.top, f.right + 1, f.bottom + 1);
  for (size_t i = 0; i < panel.series.size(); ++i) {
    const auto color = series_color(i);
    const bool sparse = panel.series[i].points.size() <= 40;
    bool have_last = false;
    int lx = 0, ly = 0;
    for (const auto& [px, py] : panel.series[i].points) {
      if (!std::isfinite(px) || !std::isfinite(py)) {
        have_last = false;  // a gap
        continue;
      }
      const int cx = f.px(px), cy = f.py(py);
      if (have_last) canvas.line(lx, ly, cx, cy, color);
      if (sparse) {
        canvas.fill_rect(cx - 2, cy - 2, cx + 3, cy + 3, color);  // a marker: few points are easy to miss
      } else if (!have_last) {
        canvas.set(cx, cy, color);
      }
      lx = cx, ly = cy, have_last = true;
    }
  }
  canvas.clear_clip();

  // Legend, top right inside the plot area.
  if (panel.series.size() > 1) {
    int widest = 0;
    for (const auto& s : panel.series) widest = std::max(widest, Canvas::text_width(s.name));
    const int line_height = Canvas::text_height() + 5;
    const int box_w = widest + 26, box_h = static_cast<int>(panel.series.size()) * line_height + 6;
    const int bx = f.right - box_w - 4, by = f.top + 4;
    canvas.fill_rect(bx, by, bx + box_w, by + box_h, {255, 255, 255});
    for (size_t i = 0; i < panel.series.size(); ++i) {
      const int ly = by + 4 + static_cast<int>(i) * line_height;
      canvas.fill_rect(bx + 4, ly + 2, bx + 18, ly + 5, series_color(i));
      canvas.text(bx + 22, ly, panel.series[i].name, kText);
    }
  }
}

}  // namespace

Canvas render_chart(const std::vector<Panel>& panels, const ChartOptions& options) {
  const auto [width, height] = chart_size(panels.size(), options);
  Canvas canvas(width, height);
  for (size_t i = 0; i < panels.size(); ++i) {
    const auto [x, y] = panel_origin(i, panels.size(), options);
    draw_panel(canvas, panels[i], x, y, options.panel_width, options.panel_height);
  }
  return canvas;
}

}  // namespace tempo::plot
