#include "models/refined_mask/visualize.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "kernels/shape_ops.h"
#include "models/common/picture.h"

namespace anima::refined_mask {

Tensor figure_row(const Tensor& source, const Tensor& driving, const Animation& a, int64_t k) {
  int64_t H = source.size(2), W = source.size(3);
  auto pick = [&](const Tensor& t) { return image_panel(kernels::slice(t.detach(), 0, k, k + 1), H, W); };
  Tensor s = source.size(0) == 1 ? image_panel(source.detach(), H, W) : pick(source);
  return kernels::concat({s, pick(a.source_mask), pick(driving), pick(a.driving_mask_raw), pick(a.perturbed_mask),
                          pick(a.driving_mask), pick(a.coarse), pick(a.prediction)},
                         1);
}

Tensor visualize_refined_mask(RefinedMaskModel& model, const Tensor& source, const Tensor& driving, Ablation ablation) {
  NoGradGuard no_grad;
  int64_t b = source.size(0), n = std::min<int64_t>(b, 4);
  // The driving frame of the next sample: row i animates source i with driving (i + 1) % b.
  Tensor next =
      b > 1 ? kernels::concat({kernels::slice(driving, 0, 1, b), kernels::slice(driving, 0, 0, 1)}, 0) : driving;
  Tensor src = kernels::slice(source, 0, 0, n), drv = kernels::slice(next, 0, 0, n);
  // Eval mode for the picture, then the previous mode back, also if animate throws.
  struct ModeGuard {
    RefinedMaskModel& m;
    bool was;
    ~ModeGuard() { m.train(was); }
  } guard{model, model.mask_generator->is_training()};
  model.train(false);
  Animation a = model.animate(src, drv, ablation);
  std::vector<Tensor> rows;
  for (int64_t s = 0; s < n; ++s) rows.push_back(figure_row(src, drv, a, s));
  return kernels::concat(rows, 0);
}

}  // namespace anima::refined_mask
