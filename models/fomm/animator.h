// The First Order Motion Model as an Animator (models/common/model.h): keypoints of the source
// once, then per batch of driving frames their keypoints, made relative to the reference frame's
// (FOMM's normalize_kp; animation) or taken as they are (reconstruction), and the generator.
#pragma once
#include <memory>
#include <string>

#include "models/common/model.h"
#include "models/fomm/config.h"
#include "models/fomm/generator.h"
#include "models/fomm/inference.h"
#include "models/fomm/keypoint_detector.h"

namespace anima::fomm {

class FommAnimator : public Animator {
 public:
  // The networks are shared (a trainer's, or loaded ones) and used in their current mode.
  FommAnimator(std::shared_ptr<KPDetector> kp_detector, std::shared_ptr<OcclusionAwareGenerator> generator,
               NormalizeOptions normalize);
  void set_source(const Tensor& source, const Tensor& reference) override;
  Tensor animate(const Tensor& driving) override;
  Tensor reconstruct(const Tensor& driving) override;
  // source | driving | result, with the source's, the driving's and the moved keypoints
  Tensor figure(int64_t k) override;
  Tensor reconstruction_panel(int64_t k) override;  // driving | result
  // kp_driving (the moved keypoints), mask, deformed, jacobian_driving and occlusion_map (when
  // estimated), kp_source
  NamedTensors intermediates(int64_t k) override;
  std::string label() const override { return "fomm"; }
  int64_t first_reconstructed_frame() const override { return 0; }

 private:
  Tensor generate(const Tensor& driving, const Keypoints& kp_moved);
  std::shared_ptr<KPDetector> kp_;
  std::shared_ptr<OcclusionAwareGenerator> generator_;
  NormalizeOptions normalize_;
  Tensor source_;
  Keypoints kp_source_, kp_reference_;
  // of the last call
  Tensor driving_;
  Keypoints kp_driving_, kp_moved_;
  GeneratorOutput out_;
};

// The normalisation of `config`'s animate_params with the options' overrides; refuses the
// options the model has not.
NormalizeOptions animation_normalization(const FommConfig& config, const AnimatorOptions& options,
                                         const std::string& checkpoint);

// The keypoint detector and generator of `config` with the weights of `checkpoint`, in eval mode.
std::unique_ptr<Animator> load_animator(const FommConfig& config, const std::string& checkpoint, Device device,
                                        const AnimatorOptions& options);

}  // namespace anima::fomm
