// The refined-masking model as an Animator (models/common/model.h): m(s) once per source, then
// per batch of driving frames the test-time pipeline of equations 1-4 with the chosen ablation.
// Reconstruction is the same pipeline (the model has no relative motion).
#pragma once
#include <memory>
#include <string>

#include "models/common/model.h"
#include "models/refined_mask/model.h"

namespace anima::refined_mask {

class RefinedMaskAnimator : public Animator {
 public:
  // The model is shared (a trainer's, or a loaded one) and used in its current mode.
  RefinedMaskAnimator(std::shared_ptr<RefinedMaskModel> model, Ablation ablation);
  void set_source(const Tensor& source, const Tensor& reference) override;
  Tensor animate(const Tensor& driving) override;
  Tensor reconstruct(const Tensor& driving) override { return animate(driving); }
  Tensor figure(int64_t k) override;  // figure 3's row: s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f
  Tensor reconstruction_panel(int64_t k) override { return figure(k); }
  // source_mask, driving_mask_raw, perturbed_mask, driving_mask, coarse, prediction
  NamedTensors intermediates(int64_t k) override;
  std::map<std::string, std::string> intermediates_metadata() const override;
  std::string label() const override;
  // "all the frames of the video except the first" (the paper's section 4.1)
  int64_t first_reconstructed_frame() const override { return 1; }

 private:
  std::shared_ptr<RefinedMaskModel> model_;
  Ablation ablation_;
  Tensor source_, source_mask_, driving_;
  Animation last_;
};

// The model of `config` with the weights of `checkpoint`, in eval mode; refuses FOMM's options.
std::unique_ptr<Animator> load_animator(const RefinedMaskConfig& config, const std::string& checkpoint, Device device,
                                        const AnimatorOptions& options);

}  // namespace anima::refined_mask
