#include "models/refined_mask/animator.h"

#include "kernels/elementwise.h"
#include "kernels/shape_ops.h"
#include "models/refined_mask/visualize.h"

namespace anima::refined_mask {

RefinedMaskAnimator::RefinedMaskAnimator(std::shared_ptr<RefinedMaskModel> model, Ablation ablation)
    : model_(std::move(model)), ablation_(ablation) {}

void RefinedMaskAnimator::set_source(const Tensor& source, const Tensor&) {
  source_ = source;
  source_mask_ = model_->mask_generator->forward(source);
}

Tensor RefinedMaskAnimator::animate(const Tensor& driving) {
  driving_ = driving;
  last_ = model_->animate(kernels::expand(source_, driving.shape()), source_mask_, driving, ablation_);
  return last_.prediction;
}

Tensor RefinedMaskAnimator::figure(int64_t k) { return figure_row(source_, driving_, last_, k); }

NamedTensors RefinedMaskAnimator::intermediates(int64_t k) {
  auto pick = [&](const Tensor& t) { return kernels::slice(t, 0, k, k + 1); };
  return {{"source_mask", pick(last_.source_mask)},
          {"driving_mask_raw", pick(last_.driving_mask_raw)},
          {"perturbed_mask", pick(last_.perturbed_mask)},
          {"driving_mask", pick(last_.driving_mask)},
          {"coarse", pick(last_.coarse)},
          {"prediction", pick(last_.prediction)}};
}

std::map<std::string, std::string> RefinedMaskAnimator::intermediates_metadata() const {
  return {{"ablation", ablation_name(ablation_)}};
}

std::string RefinedMaskAnimator::label() const { return std::string("refined-mask, ") + ablation_name(ablation_); }

std::unique_ptr<Animator> load_animator(const RefinedMaskConfig& config, const std::string& checkpoint, Device device,
                                        const AnimatorOptions& o) {
  ANIMA_CHECK(o.best_frame == 0 && !o.adapt_scale && !o.absolute, "--best-frame, --adapt-scale and --absolute are not ",
              "options of the refined-masking model (", checkpoint, " is one)");
  Ablation ablation = parse_ablation(o.ablation);
  Generator gen(0);
  auto model = std::make_shared<RefinedMaskModel>(config, gen);
  load_checkpoint(checkpoint, model->parts());
  model->to(device);
  model->train(false);
  return std::make_unique<RefinedMaskAnimator>(model, ablation);
}

}  // namespace anima::refined_mask
