#include "models/fomm/animator.h"

#include <algorithm>

#include "data/frame_io.h"
#include "kernels/elementwise.h"
#include "kernels/shape_ops.h"
#include "models/common/picture.h"

namespace anima::fomm {

FommAnimator::FommAnimator(std::shared_ptr<KPDetector> kp_detector, std::shared_ptr<OcclusionAwareGenerator> generator,
                           NormalizeOptions normalize)
    : kp_(std::move(kp_detector)), generator_(std::move(generator)), normalize_(normalize) {}

void FommAnimator::set_source(const Tensor& source, const Tensor& reference) {
  source_ = source;
  kp_source_ = kp_->forward(source);
  kp_reference_ = reference.defined() ? kp_->forward(reference) : Keypoints{};
}

Tensor FommAnimator::generate(const Tensor& driving, const Keypoints& kp_moved) {
  driving_ = driving;
  kp_moved_ = kp_moved;
  Keypoints ks{
      kernels::expand(kp_source_.value, kp_moved.value.shape()),
      kp_source_.jacobian.defined() ? kernels::expand(kp_source_.jacobian, kp_moved.jacobian.shape()) : Tensor(),
      Tensor()};
  out_ = generator_->forward(kernels::expand(source_, driving.shape()), kp_moved, ks);
  return out_.prediction;
}

Tensor FommAnimator::animate(const Tensor& driving) {
  ANIMA_CHECK(kp_reference_.value.defined(), "FommAnimator::animate: set_source needs the reference frame");
  kp_driving_ = kp_->forward(driving);
  return generate(driving, normalize_kp(kp_source_, kp_driving_, kp_reference_, normalize_));
}

Tensor FommAnimator::reconstruct(const Tensor& driving) {
  kp_driving_ = kp_->forward(driving);
  return generate(driving, kp_driving_);
}

namespace {
Tensor item(const Tensor& t, int64_t k) { return kernels::slice(t, 0, k, k + 1); }
std::vector<float> points(const Tensor& v, int64_t k) {
  return raw::to_device(item(v, v.size(0) == 1 ? 0 : k), Device::cpu()).to_vector<float>();
}
}  // namespace

Tensor FommAnimator::figure(int64_t k) {
  int64_t h = source_.size(2);
  int radius = int(std::max<int64_t>(1, h / 64));
  Tensor s = frame_to_image(item(source_, source_.size(0) == 1 ? 0 : k)), d = frame_to_image(item(driving_, k)),
         r = frame_to_image(item(out_.prediction, k));
  draw_keypoints(s, points(kp_source_.value, k), radius);
  draw_keypoints(d, points(kp_driving_.value, k), radius);
  draw_keypoints(r, points(kp_moved_.value, k), radius);
  return kernels::concat({s, d, r}, 1);
}

Tensor FommAnimator::reconstruction_panel(int64_t k) {
  return kernels::concat({frame_to_image(item(driving_, k)), frame_to_image(item(out_.prediction, k))}, 1);
}

NamedTensors FommAnimator::intermediates(int64_t k) {
  NamedTensors t = {{"kp_driving", item(kp_moved_.value, k)},
                    {"mask", item(out_.motion.mask, k)},
                    {"deformed", item(out_.deformed, k)}};
  if (kp_moved_.jacobian.defined()) t.emplace_back("jacobian_driving", item(kp_moved_.jacobian, k));
  if (out_.motion.occlusion_map.defined()) t.emplace_back("occlusion_map", item(out_.motion.occlusion_map, k));
  t.emplace_back("kp_source", kp_source_.value);
  t.emplace_back("prediction", item(out_.prediction, k));  // the float frame the PNG/video rounds
  return t;
}

NormalizeOptions animation_normalization(const FommConfig& c, const AnimatorOptions& o, const std::string& checkpoint) {
  ANIMA_CHECK(o.ablation == "full", "--ablation ", o.ablation, " is not an option of the First Order Motion Model (",
              checkpoint, " is one)");
  return {c.normalization.adapt_movement_scale || o.adapt_scale, c.normalization.use_relative_movement && !o.absolute,
          c.normalization.use_relative_jacobian && !o.absolute};
}

std::unique_ptr<Animator> load_animator(const FommConfig& c, const std::string& checkpoint, Device device,
                                        const AnimatorOptions& options) {
  NormalizeOptions norm = animation_normalization(c, options, checkpoint);
  Generator gen(0);
  auto kp = std::make_shared<KPDetector>(c.kp_detector, gen);
  auto generator = std::make_shared<OcclusionAwareGenerator>(c.generator, gen);
  load_checkpoint(checkpoint, {{{"kp_detector", kp.get()}, {"generator", generator.get()}}, {}});
  kp->to(device);
  generator->to(device);
  kp->eval();
  generator->eval();
  return std::make_unique<FommAnimator>(kp, generator, norm);
}

}  // namespace anima::fomm
