// The refined-masking model at test time (equations 1-4, figure 1) and its training step
// (equations 5-10, figure 2).
//
// Test time, per driving frame d:
//   m_s = m(s);  m_d = r(D(s), m_s, P_test(m(d)));  c = l(D(s), m_s, m_d);  f = h(s, U(m_s), c, U(m_d))
// Ablations (the paper's section 4): no_pert skips P_test, no_ref skips r (m_d = P_test(m(d))),
// no_id skips both (m_d = m(d)).
//
// Training (source and driving from one video): A = colour augmentation of d, m_a = m(A(d)),
//   L_mask   = lambda1 * L1(r(D(s), m_s, P_train(m_a)), m_a)          updates r only
//   L_coarse = lambda2 * sum_scales sum_layers VGG(c, d), c = l(D(s), m_s, m_a)   updates l and m
//   L_fine   = lambda2 * sum_scales sum_layers VGG(f, d), f = h(s, U(m_s), c, U(m_a))  updates h only
// The routing is made with detach(): r sees m_s and m_a detached (and its target is detached), h
// sees c and both masks detached. r starts training at train_params.refinement_start_epoch.
// Three Adam optimisers (m; l and h; r), so that r's bias correction starts when r starts, as
// PyTorch's per-parameter Adam state does in the released code.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "layers/checkpoint.h"
#include "layers/optim.h"
#include "layers/vgg.h"
#include "models/refined_mask/networks.h"

namespace anima::refined_mask {

enum class Ablation { Full, NoPert, NoRef, NoId };
Ablation parse_ablation(const std::string& name);  // full, no_pert, no_ref, no_id
const char* ablation_name(Ablation a);

// Every intermediate of figure 3's row (s, m_s, d, m(d), P_test(m(d)), m_d, c, f).
struct Animation {
  Tensor source_mask, driving_mask_raw, perturbed_mask, driving_mask, coarse, prediction;
};

class RefinedMaskModel {
 public:
  RefinedMaskModel(const RefinedMaskConfig& config, Generator& gen);

  // source, driving: [N, 3, H, W] in [0, 1] (a single source may be expanded by the caller).
  Animation animate(const Tensor& source, const Tensor& driving, Ablation ablation = Ablation::Full);
  // Same, with the source's mask already computed (m(s) once for a whole driving video).
  Animation animate(const Tensor& source, const Tensor& source_mask, const Tensor& driving, Ablation ablation);

  Tensor downscale(const Tensor& image) const;  // D: bilinear to the mask resolution
  Tensor upscale(const Tensor& mask) const;     // U: bilinear to the frame resolution
  Tensor threshold(const Tensor& masks) const;  // rho per mask: [N] (median or the fixed value)

  void to(Device device);
  void train(bool on);
  // The authors' generator also holds down_blocks (14 tensors) that its forward pass never uses.
  CheckpointParts parts() {
    return {{{"mask_generator", mask_generator.get()}, {"generator", generator.get()}}, {}, {"generator.down_blocks."}};
  }
  const RefinedMaskConfig& config() const { return cfg_; }

  std::shared_ptr<MaskGenerator> mask_generator;
  std::shared_ptr<RefinedMaskGenerator> generator;

 private:
  RefinedMaskConfig cfg_;
};

struct TrainStep {
  std::map<std::string, Tensor> losses;  // "mask" (from the refinement epoch on), "coarse", "fine"
  Tensor driving_mask;                   // m(A(d))
  Tensor perturbed_mask;                 // P_train(m(A(d))), when the mask term ran
};

class RefinedMaskTrainer {
 public:
  RefinedMaskTrainer(const RefinedMaskConfig& config, std::shared_ptr<Vgg19> vgg, Generator& gen,
                     Device device = Device::cpu());

  TrainStep step(const Tensor& source, const Tensor& driving);
  // Learning rates for `epoch` (MultiStepLR at the milestones) and whether r trains.
  void set_epoch(int epoch);
  CheckpointParts checkpoint_parts();
  // Which loss terms step() computes (for tests: e.g. only {"mask"} or only {"fine"}).
  void set_active_terms(std::vector<std::string> terms) { active_ = std::move(terms); }

  RefinedMaskModel model;
  // optimizer_mask_generator (m), optimizer_generator (l and h), optimizer_refinement (r)
  OptimizerGroup optimizers;

 private:
  bool active(const std::string& term) const;
  RefinedMaskConfig cfg_;
  std::shared_ptr<PerceptualLoss> perceptual_;
  std::vector<std::string> active_;
  Generator& rng_;
  int epoch_ = 0;
};

}  // namespace anima::refined_mask
