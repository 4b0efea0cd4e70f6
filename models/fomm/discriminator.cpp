#include "models/fomm/discriminator.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "layers/anti_alias.h"
#include "models/fomm/geometry.h"
#include "tensor/trace.h"

namespace anima::fomm {

namespace {
// x / max(||x||, eps), no autograd (power-iteration vectors).
Tensor normalize(const Tensor& x) {
  Tensor norm = kernels::sqrt(kernels::sum(kernels::mul(x, x)));
  return kernels::div(x, kernels::maximum(norm, kernels::full(Shape{}, 1e-12, DType::F32, x.device())));
}
}  // namespace

SpectralNormConv2d::SpectralNormConv2d(int64_t in, int64_t out, int k, int padding, Generator& gen)
    : p_{1, 1, padding, padding, 1, 1, 1} {
  Conv2d plain(in, out, k, Conv2d::Options{1, padding}, gen);  // PyTorch's initialisation
  bias = plain.bias.detach();
  weight_orig = plain.weight.detach();
  register_parameter("bias", &bias);
  register_parameter("weight_orig", &weight_orig);
  weight_u = normalize(kernels::randn(Shape{out}, gen));
  weight_v = normalize(kernels::randn(Shape{in * k * k}, gen));
  register_buffer("weight_u", &weight_u);
  register_buffer("weight_v", &weight_v);
}

Tensor SpectralNormConv2d::forward(const Tensor& x) {
  int64_t out = weight_orig.size(0);
  Tensor w_mat = reshape(weight_orig, {out, -1});
  if (is_training()) {  // one power-iteration step, outside the graph; the buffers keep the vectors
    Tensor w = w_mat.detach();
    Tensor v = normalize(raw::view(kernels::matmul(raw::view(weight_u, Shape{1, out}), w), Shape{w.size(1)}));
    Tensor u = normalize(raw::view(kernels::matmul(w, raw::view(v, Shape{w.size(1), 1})), Shape{out}));
    raw::copy_into(weight_v, v);
    raw::copy_into(weight_u, u);
  }
  // sigma = u . (W v), differentiable in W.
  Tensor wv = matmul(w_mat, reshape(weight_v.detach(), {-1, 1}));
  Tensor sigma = sum(reshape(wv, {out}) * weight_u.detach());
  return conv2d(x, weight_orig / sigma, bias, p_);
}

DiscriminatorDownBlock::DiscriminatorDownBlock(int64_t in, int64_t out, bool norm, bool pool, bool sn, Generator& gen)
    : pool_(pool) {
  if (sn)
    sn_conv_ = register_module("conv", std::make_shared<SpectralNormConv2d>(in, out, 4, 0, gen));
  else
    conv_ = register_module("conv", std::make_shared<Conv2d>(in, out, 4, gen));
  if (norm) norm_ = register_module("norm", std::make_shared<InstanceNorm2d>(out, true));
}

int64_t DiscriminatorDownBlock::out_channels() const {
  return sn_conv_ ? sn_conv_->out_channels() : conv_->weight.size(0);
}

Tensor DiscriminatorDownBlock::forward(const Tensor& x) {
  Tensor out = sn_conv_ ? sn_conv_->forward(x) : conv_->forward(x);
  if (norm_) out = norm_->forward(out);
  out = leaky_relu(out, 0.2f);
  return pool_ ? avg_pool2d(out, 2) : out;
}

Discriminator::Discriminator(const DiscriminatorConfig& c, Generator& gen) : cfg_(c) {
  down_blocks_ = register_module("down_blocks", std::make_shared<ModuleList<DiscriminatorDownBlock>>());
  for (int i = 0; i < c.num_blocks; ++i) {
    int64_t in = i == 0 ? c.num_channels + (c.use_kp ? c.num_kp : 0) : std::min(c.max_features, c.block_expansion << i);
    down_blocks_->append(std::make_shared<DiscriminatorDownBlock>(
        in, std::min(c.max_features, c.block_expansion << (i + 1)), i != 0, i != c.num_blocks - 1, c.sn, gen));
  }
  int64_t last = (*down_blocks_)[down_blocks_->size() - 1].out_channels();
  if (c.sn)
    conv_ = register_module("conv", std::make_shared<SpectralNormConv2d>(last, 1, 1, 0, gen));
  else
    conv_ = register_module("conv", std::make_shared<Conv2d>(last, 1, 1, gen));
}

Discriminator::Output Discriminator::forward(const Tensor& x, const Tensor& kp) {
  ANIMA_TRACE("fomm.discriminator (one scale)");
  Tensor out = x;
  if (cfg_.use_kp) {
    ANIMA_CHECK(kp.defined(), "Discriminator: use_kp is set but no keypoints were given");
    out = concat({out, kp2gaussian(kp, x.size(2), x.size(3), cfg_.kp_variance)}, 1);
  }
  Output o;
  for (size_t i = 0; i < down_blocks_->size(); ++i) {
    out = (*down_blocks_)[i].forward(out);
    o.features.push_back(out);
  }
  o.prediction = conv_->forward(out);
  return o;
}

MultiScaleDiscriminator::MultiScaleDiscriminator(const DiscriminatorConfig& c, Generator& gen) {
  auto dict = register_module("discs", std::make_shared<ModuleDict>());
  for (double s : c.scales) {
    std::string key = ImagePyramid::scale_key(s);
    std::replace(key.begin(), key.end(), '.', '-');
    discs_.emplace_back(s, dict->add(key, std::make_shared<Discriminator>(c, gen)));
  }
}

std::map<std::string, Discriminator::Output> MultiScaleDiscriminator::forward(
    const std::map<std::string, Tensor>& pyramid, const Tensor& kp) {
  ANIMA_TRACE("fomm.multiscale_discriminator");
  std::map<std::string, Discriminator::Output> out;
  for (auto& [s, disc] : discs_) {
    std::string key = "prediction_" + ImagePyramid::scale_key(s);
    auto it = pyramid.find(key);
    ANIMA_CHECK(it != pyramid.end(), "MultiScaleDiscriminator: no input '", key, "'");
    out[key] = disc->forward(it->second, kp);
  }
  return out;
}

}  // namespace anima::fomm
