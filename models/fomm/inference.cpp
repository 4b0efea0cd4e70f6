#include "models/fomm/inference.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions.h"
#include "models/fomm/geometry.h"

namespace anima::fomm {

double convex_hull_area(const std::vector<float>& xy) {
  std::vector<std::pair<double, double>> p;
  for (size_t i = 0; i + 1 < xy.size(); i += 2) p.emplace_back(xy[i], xy[i + 1]);
  std::sort(p.begin(), p.end());
  p.erase(std::unique(p.begin(), p.end()), p.end());
  if (p.size() < 3) return 0;
  auto cross = [](const auto& o, const auto& a, const auto& b) {
    return (a.first - o.first) * (b.second - o.second) - (a.second - o.second) * (b.first - o.first);
  };
  std::vector<std::pair<double, double>> hull(2 * p.size());
  size_t k = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) --k;
    hull[k++] = p[i];
  }
  for (size_t i = p.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) --k;
    hull[k++] = p[i];
  }
  hull.resize(k - 1);
  double area = 0;
  for (size_t i = 0; i < hull.size(); ++i) {
    const auto& a = hull[i];
    const auto& b = hull[(i + 1) % hull.size()];
    area += a.first * b.second - b.first * a.second;
  }
  return std::fabs(area) / 2;
}

Keypoints normalize_kp(const Keypoints& ks, const Keypoints& kd, const Keypoints& k0, const NormalizeOptions& o) {
  float scale = 1.f;
  if (o.adapt_movement_scale) {
    // As FOMM: the first sample's hulls (the source image and the reference driving frame).
    auto first = [](const Tensor& v) {
      auto all = v.to_vector<float>();
      return std::vector<float>(all.begin(), all.begin() + v.size(1) * 2);
    };
    double src = convex_hull_area(first(ks.value)), drv = convex_hull_area(first(k0.value));
    ANIMA_CHECK(drv > 0, "normalize_kp: the reference driving keypoints are degenerate (zero hull area)");
    scale = float(std::sqrt(src) / std::sqrt(drv));
  }
  Keypoints out = kd;
  if (o.use_relative_movement) {
    out.value = (kd.value - k0.value) * scale + ks.value;
    if (o.use_relative_jacobian && kd.jacobian.defined())
      out.jacobian = matmul2x2(matmul2x2(kd.jacobian, inverse2x2(k0.jacobian)), ks.jacobian);
  }
  return out;
}

}  // namespace anima::fomm
