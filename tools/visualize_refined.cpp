#include "tools/visualize_refined.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "kernels/shape_ops.h"
#include "tools/visualize.h"

namespace anima::tools {

Tensor visualize_refined_mask(refined_mask::RefinedMaskModel& model, const Tensor& source, const Tensor& driving,
                              refined_mask::Ablation ablation) {
  NoGradGuard no_grad;
  int64_t b = source.size(0), n = std::min<int64_t>(b, 4), H = source.size(2), W = source.size(3);
  // The driving frame of the next sample: row i animates source i with driving (i + 1) % b.
  Tensor next = b > 1 ? kernels::concat({kernels::slice(driving, 0, 1, b), kernels::slice(driving, 0, 0, 1)}, 0) : driving;
  Tensor src = kernels::slice(source, 0, 0, n), drv = kernels::slice(next, 0, 0, n);
  // Eval mode for the picture, then the previous mode back, also if animate throws.
  struct ModeGuard {
    refined_mask::RefinedMaskModel& m;
    bool was;
    ~ModeGuard() { m.train(was); }
  } guard{model, model.mask_generator->is_training()};
  model.train(false);
  refined_mask::Animation a = model.animate(src, drv, ablation);
  std::vector<Tensor> rows;
  for (int64_t s = 0; s < n; ++s) {
    auto pick = [&](const Tensor& t) { return image_panel(kernels::slice(t.detach(), 0, s, s + 1), H, W); };
    rows.push_back(kernels::concat({pick(src), pick(a.source_mask), pick(drv), pick(a.driving_mask_raw),
                                    pick(a.perturbed_mask), pick(a.driving_mask), pick(a.coarse), pick(a.prediction)},
                                   1));
  }
  return kernels::concat(rows, 0);
}

}  // namespace anima::tools
