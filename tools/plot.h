// Training curves: reads a run's log.txt (lines "epoch E step S name value name value ...", as
// `anima train` writes them; header, config and resume lines are skipped) and draws one panel
// per loss term — value against step, axes with tick labels, log-scale y by default (a panel
// whose values are not all positive falls back to linear) — into an RGB image.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace anima::tools {

struct LossCurves {
  std::vector<std::string> names;                                        // in order of first appearance
  std::map<std::string, std::vector<std::pair<double, double>>> points;  // (step, value) by step
};

// A step logged twice (a run resumed from an earlier checkpoint) keeps its last value.
// No loss line at all is an error naming the file.
LossCurves parse_loss_log(const std::string& text, const std::string& what);
LossCurves read_loss_log(const std::string& path);

struct PlotOptions {
  int width = 1200, height = 800;
  bool log_y = true;
};

// The panels of n terms in a width x height image: a grid of ceil(sqrt(n)) columns, row-major.
struct PanelRect {
  int x0, y0, x1, y1;  // inclusive
};
std::vector<PanelRect> plot_panels(size_t n, int width, int height);

// uint8 [height, width, 3].
Tensor plot_loss_curves(const LossCurves& curves, const PlotOptions& options);
// read_loss_log + plot_loss_curves + write_image.
void plot_log_file(const std::string& log_path, const std::string& out_path, const PlotOptions& options = {});

}  // namespace anima::tools
