#include "models/refined_mask/model.h"

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"
#include "kernels/color.h"
#include "kernels/elementwise.h"
#include "kernels/select.h"
#include "tensor/trace.h"

namespace anima::refined_mask {

Ablation parse_ablation(const std::string& name) {
  if (name == "full") return Ablation::Full;
  if (name == "no_pert") return Ablation::NoPert;
  if (name == "no_ref") return Ablation::NoRef;
  if (name == "no_id") return Ablation::NoId;
  ANIMA_FAIL("refined-mask: unknown ablation '", name, "' (full, no_pert, no_ref or no_id)");
}

const char* ablation_name(Ablation a) {
  switch (a) {
    case Ablation::Full:
      return "full";
    case Ablation::NoPert:
      return "no_pert";
    case Ablation::NoRef:
      return "no_ref";
    case Ablation::NoId:
      return "no_id";
  }
  return "?";
}

RefinedMaskModel::RefinedMaskModel(const RefinedMaskConfig& c, Generator& gen) : cfg_(c) {
  mask_generator = std::make_shared<MaskGenerator>(c.model, gen);
  generator = std::make_shared<RefinedMaskGenerator>(c.model, gen);
}

void RefinedMaskModel::to(Device device) {
  mask_generator->to(device);
  generator->to(device);
}

void RefinedMaskModel::train(bool on) {
  mask_generator->train(on);
  generator->train(on);
}

Tensor RefinedMaskModel::downscale(const Tensor& image) const {
  InterpParams p;
  p.out_h = cfg_.mask_h();
  p.out_w = cfg_.mask_w();
  return interpolate(image, p);
}

Tensor RefinedMaskModel::upscale(const Tensor& mask) const {
  InterpParams p;
  p.out_h = cfg_.frame_h();
  p.out_w = cfg_.frame_w();
  return interpolate(mask, p);
}

Tensor RefinedMaskModel::threshold(const Tensor& masks) const {
  int64_t n = masks.size(0);
  if (cfg_.perturbation.threshold.median)
    return kernels::row_median(raw::view(masks.detach(), Shape{n, masks.numel() / n}));
  return kernels::full(Shape{n}, cfg_.perturbation.threshold.value, DType::F32, masks.device());
}

Animation RefinedMaskModel::animate(const Tensor& source, const Tensor& driving, Ablation a) {
  return animate(source, mask_generator->forward(source), driving, a);
}

Animation RefinedMaskModel::animate(const Tensor& source, const Tensor& source_mask, const Tensor& driving,
                                    Ablation a) {
  ANIMA_TRACE("refined_mask.animate");
  ANIMA_CHECK(source.dim() == 4 && source.shape() == driving.shape() && source.size(2) == cfg_.frame_h() &&
                  source.size(3) == cfg_.frame_w(),
              "refined-mask animate: source ", source.shape().str(), " and driving ", driving.shape().str(),
              " must both be [N, 3, ", cfg_.frame_h(), ", ", cfg_.frame_w(), "]");
  Animation o;
  o.source_mask = source_mask.size(0) == source.size(0)
                      ? source_mask
                      : expand(source_mask, Shape{source.size(0), 1, source_mask.size(2), source_mask.size(3)});
  o.driving_mask_raw = mask_generator->forward(driving);
  bool perturb = a == Ablation::Full || a == Ablation::NoRef;
  bool refine = a == Ablation::Full || a == Ablation::NoPert;
  const PerturbationParams& pp = cfg_.perturbation;
  if (!perturb)
    o.perturbed_mask = o.driving_mask_raw;
  else if (pp.quantize == PTestQuantize::Code)
    o.perturbed_mask = kernels::perturb_test_code(o.driving_mask_raw.detach(), pp.threshold_255(), pp.test_scale);
  else
    o.perturbed_mask = kernels::perturb_test(o.driving_mask_raw.detach(), threshold(o.driving_mask_raw), pp.test_scale);
  Tensor small = downscale(source);
  o.driving_mask = refine ? generator->refine(small, o.source_mask, o.perturbed_mask) : o.perturbed_mask;
  o.coarse = generator->low_res(small, o.source_mask, o.driving_mask);
  o.prediction = generator->high_res(source, upscale(o.source_mask), o.coarse, upscale(o.driving_mask));
  return o;
}

RefinedMaskTrainer::RefinedMaskTrainer(const RefinedMaskConfig& c, std::shared_ptr<Vgg19> vgg, Generator& gen,
                                       Device device)
    : model(c, gen), optimizers(c.train.epoch_milestones, 0.1), cfg_(c), rng_(gen) {
  PerceptualLossConfig pc;
  pc.scales = c.train.scales;
  pc.layers = c.train.loss_weights.perceptual_layers;
  pc.weights = c.train.loss_weights.perceptual;
  for (float& w : pc.weights) w *= c.train.loss_weights.reconstruction;
  perceptual_ = std::make_shared<PerceptualLoss>(std::move(vgg), pc);
  model.to(device);
  perceptual_->to(device);
  AdamOptions ao{c.train.lr, c.train.betas[0], c.train.betas[1]};
  NamedTensors g_params, r_params;
  auto r_prefixes = RefinedMaskGenerator::prefixes('r');
  for (auto& [name, t] : model.generator->named_parameters()) {
    bool in_r = false;
    for (const auto& p : r_prefixes) in_r = in_r || name.rfind(p, 0) == 0;
    (in_r ? r_params : g_params).emplace_back(name, t);
  }
  optimizers.add("optimizer_mask_generator", model.mask_generator->named_parameters(), ao);
  optimizers.add("optimizer_generator", g_params, ao);
  optimizers.add("optimizer_refinement", r_params, ao);
}

void RefinedMaskTrainer::set_epoch(int epoch) {
  epoch_ = epoch;
  optimizers.set_epoch(epoch);
}

CheckpointParts RefinedMaskTrainer::checkpoint_parts() {
  CheckpointParts p = model.parts();
  p.optimizers = optimizers.named();
  return p;
}

bool RefinedMaskTrainer::active(const std::string& term) const {
  if (active_.empty()) return true;
  for (const auto& t : active_)
    if (t == term) return true;
  return false;
}

TrainStep RefinedMaskTrainer::step(const Tensor& source, const Tensor& driving) {
  ANIMA_TRACE("refined_mask.train_step");
  const TrainParams& t = cfg_.train;
  TrainStep o;
  Tensor augmented = kernels::color_jitter(
      driving, kernels::draw_color_jitter(driving.size(0), t.brightness, t.contrast, t.saturation, t.hue, rng_));
  Tensor source_mask = model.mask_generator->forward(source);
  o.driving_mask = model.mask_generator->forward(augmented);  // m(A(d))
  Tensor small = model.downscale(source);
  if (epoch_ >= t.refinement_start_epoch && t.loss_weights.mask != 0 && active("mask")) {
    Tensor target = o.driving_mask.detach();
    o.perturbed_mask = kernels::perturb_train(target, model.threshold(target), cfg_.perturbation.poisson_lambda, rng_,
                                              cfg_.perturbation.scale_jitter);
    Tensor refined = model.generator->refine(small, source_mask.detach(), o.perturbed_mask);
    o.losses["mask"] = l1_loss(refined, target) * t.loss_weights.mask;
  }
  Tensor coarse = model.generator->low_res(small, source_mask, o.driving_mask);
  if (active("coarse")) o.losses["coarse"] = perceptual_->forward(coarse, driving);
  if (active("fine")) {
    Tensor fine = model.generator->high_res(source, model.upscale(source_mask).detach(), coarse.detach(),
                                            model.upscale(o.driving_mask).detach());
    o.losses["fine"] = perceptual_->forward(fine, driving);
  }
  ANIMA_CHECK(!o.losses.empty(), "refined-mask step: no active loss term");
  Tensor total = sum_terms(o.losses);
  optimizers.zero_grad();
  total.backward();
  optimizers.step();
  optimizers.zero_grad();  // applied: freed before the next step's forward (as FommTrainer::step)
  return o;
}

}  // namespace anima::refined_mask
