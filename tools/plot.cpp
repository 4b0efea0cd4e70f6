#include "tools/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "data/image_io.h"
#include "tools/canvas.h"

namespace anima::tools {
namespace {

constexpr Rgb kWhite{255, 255, 255}, kAxis{90, 90, 90}, kGrid{225, 225, 225}, kText{30, 30, 30};
// Matplotlib's ten "tab" colours: distinct on white.
constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                            {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

bool parse_number(const std::string& s, double& out) {
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

// About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count) {
  double raw = (hi - lo) / count, mag = std::pow(10.0, std::floor(std::log10(raw))), r = raw / mag;
  double step = mag * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::string label(double v) {
  char buf[32];
  if (v == std::round(v) && std::fabs(v) < 1e7)
    std::snprintf(buf, sizeof buf, "%.0f", v);  // step numbers in full
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Ticks of a log axis over [10^lo, 10^hi]: 1, 2 and 5 times powers of ten, or only the powers of
// ten when those are many, or round linear ticks when the range holds fewer than two.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> all, decades;
  for (double k = std::floor(lo); k <= std::ceil(hi); ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      double t = m * std::pow(10.0, k), e = std::log10(t);
      if (e < lo - 1e-9 || e > hi + 1e-9) continue;
      all.push_back(t);
      if (m == 1) decades.push_back(t);
    }
  if (all.size() > 8) return decades;
  if (all.size() >= 2) return all;
  std::vector<double> linear;
  for (double t : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), 4))
    if (t > 0) linear.push_back(t);
  return linear;
}

// [lo, hi] widened when empty.
void widen(double& lo, double& hi) {
  if (hi > lo) return;
  double pad = std::max(std::fabs(lo) * 0.1, 1e-12);
  lo -= pad;
  hi += pad;
}

void draw_panel(Canvas& c, const PanelRect& r, const std::string& name,
                const std::vector<std::pair<double, double>>& pts, Rgb colour, bool log_y_wanted) {
  bool log_y = log_y_wanted && std::all_of(pts.begin(), pts.end(), [](auto& p) { return p.second > 0; });
  auto ymap = [&](double v) { return log_y ? std::log10(v) : v; };
  double xlo = pts.front().first, xhi = pts.back().first, ylo = INFINITY, yhi = -INFINITY;
  for (auto& [s, v] : pts)
    if (std::isfinite(v)) ylo = std::min(ylo, ymap(v)), yhi = std::max(yhi, ymap(v));
  if (!std::isfinite(ylo)) ylo = yhi = 0;
  widen(xlo, xhi);
  widen(ylo, yhi);
  // Tick values in data units and their positions on the (possibly log) axis.
  std::vector<double> yticks = log_y ? log_ticks(ylo, yhi) : nice_ticks(ylo, yhi, 4);
  std::vector<double> xticks = nice_ticks(xlo, xhi, 4);
  int label_w = 0;
  for (double t : yticks) label_w = std::max(label_w, Canvas::text_width(label(t)));
  int px0 = r.x0 + label_w + 8, px1 = r.x1 - 10, py0 = r.y0 + Canvas::text_height() + 8,
      py1 = r.y1 - Canvas::text_height() - 8;
  ANIMA_CHECK(px1 - px0 >= 20 && py1 - py0 >= 20, "plot: the panels are too small for their axes (", r.x1 - r.x0 + 1,
              "x", r.y1 - r.y0 + 1, " pixels each); ask for a larger image");
  auto X = [&](double s) { return px0 + (s - xlo) / (xhi - xlo) * (px1 - px0); };
  auto Y = [&](double v) { return py1 - (ymap(v) - ylo) / (yhi - ylo) * (py1 - py0); };
  c.text(r.x0 + 4, r.y0 + 3, name + (log_y ? " (log)" : "") + "  vs step", kText);
  for (double t : yticks) {
    int y = int(std::lround(Y(t)));
    if (y < py0 || y > py1) continue;
    c.line(px0, y, px1, y, kGrid);
    c.line(px0 - 3, y, px0, y, kAxis);
    std::string s = label(t);
    c.text(px0 - 5 - Canvas::text_width(s), y - 3, s, kText);
  }
  for (double t : xticks) {
    int x = int(std::lround(X(t)));
    if (x < px0 || x > px1) continue;
    c.line(x, py0, x, py1, kGrid);
    c.line(x, py1, x, py1 + 3, kAxis);
    std::string s = label(t);
    c.text(std::clamp(x - Canvas::text_width(s) / 2, r.x0, r.x1 - Canvas::text_width(s)), py1 + 5, s, kText);
  }
  c.line(px0, py0, px0, py1, kAxis);
  c.line(px0, py1, px1, py1, kAxis);
  bool dots = pts.size() <= 60;
  const std::pair<double, double>* prev = nullptr;
  for (const auto& p : pts) {
    if (!std::isfinite(p.second) || (log_y && p.second <= 0)) {
      prev = nullptr;
      continue;
    }
    if (prev) c.line(X(prev->first), Y(prev->second), X(p.first), Y(p.second), colour);
    if (dots)
      c.fill_rect(int(std::lround(X(p.first))) - 1, int(std::lround(Y(p.second))) - 1, int(std::lround(X(p.first))) + 1,
                  int(std::lround(Y(p.second))) + 1, colour);
    prev = &p;
  }
}

}  // namespace

LossCurves parse_loss_log(const std::string& text, const std::string& what) {
  std::map<std::string, std::map<double, double>> by_step;
  LossCurves out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    double epoch = 0, step = 0;
    if (tok.size() < 6 || tok.size() % 2 != 0 || tok[0] != "epoch" || tok[2] != "step" ||
        !parse_number(tok[1], epoch) || !parse_number(tok[3], step))
      continue;  // a header, config or resume line
    std::vector<std::pair<std::string, double>> terms;
    for (size_t i = 4; i + 1 < tok.size(); i += 2) {
      double v = 0;
      if (!parse_number(tok[i + 1], v)) {
        terms.clear();
        break;
      }
      terms.emplace_back(tok[i], v);
    }
    for (auto& [name, v] : terms) {
      if (!by_step.count(name)) out.names.push_back(name);
      by_step[name][step] = v;
    }
  }
  ANIMA_CHECK(!out.names.empty(), what,
              ": no loss lines (expected lines 'epoch E step S name value ...', as anima train writes)");
  for (auto& [name, m] : by_step) out.points[name].assign(m.begin(), m.end());
  return out;
}

LossCurves read_loss_log(const std::string& path) { return parse_loss_log(read_file_bytes(path), path); }

std::vector<PanelRect> plot_panels(size_t n, int width, int height) {
  int cols = int(std::ceil(std::sqrt(double(n)))), rows = int((n + size_t(cols) - 1) / size_t(cols));
  std::vector<PanelRect> rects;
  for (size_t i = 0; i < n; ++i) {
    int c = int(i) % cols, r = int(i) / cols;
    rects.push_back({c * width / cols, r * height / rows, (c + 1) * width / cols - 1, (r + 1) * height / rows - 1});
  }
  return rects;
}

Tensor plot_loss_curves(const LossCurves& curves, const PlotOptions& o) {
  ANIMA_CHECK(!curves.names.empty(), "plot: no loss terms to draw");
  Canvas c(o.width, o.height, kWhite);
  std::vector<PanelRect> rects = plot_panels(curves.names.size(), o.width, o.height);
  for (size_t i = 0; i < rects.size(); ++i)
    draw_panel(c, rects[i], curves.names[i], curves.points.at(curves.names[i]), kPalette[i % std::size(kPalette)],
               o.log_y);
  return c.image();
}

void plot_log_file(const std::string& log_path, const std::string& out_path, const PlotOptions& options) {
  write_image(out_path, plot_loss_curves(read_loss_log(log_path), options));
}

}  // namespace anima::tools
