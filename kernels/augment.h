// Random image and mask operations of the two papers (no autograd; they act on data or on
// detached masks). All randomness comes from Philox keyed by (seed, stream): the same call gives
// bit-identical results on the CPU and the GPU, whatever the thread count.
#pragma once
#include <cstdint>

#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace anima::kernels {

// Poisson(lambda) samples, one per element of `shape`, as float32 counts.
// Algorithm (exact): Knuth's product of uniforms, U1 * U2 * ... until the product drops below
// exp(-lambda), in double precision with exactly rounded products; lambda > 32 is split into
// ceil(lambda / 32) equal parts whose Poisson counts are summed (Poisson variables add).
// Element i draws from its own Philox counter range, so the result does not depend on the device.
Tensor poisson(const Shape& shape, double lambda, uint64_t seed, uint64_t stream, Device device = Device::cpu());
// Test hook: true runs the CPU one element at a time, as the GPU does (the oracle of the CPU's
// lockstep lanes). Returns the previous setting.
bool set_poisson_per_element_cpu(bool on);

// The refined-masking reference code's mask noise: masks in [0, 1] seen as 0..255 intensities;
// every pixel moves by +-Poisson(lambda) / 255 with a random sign, then is clipped to [0, 1].
Tensor mask_poisson_noise(const Tensor& mask, double lambda, Generator& gen);

// Zeroes, per sample, the pixels below that sample's threshold. mask: [N, 1, H, W];
// threshold: [N] (e.g. row_median of the masks) on the same device.
Tensor threshold_masks(const Tensor& mask, const Tensor& threshold);

// Per-sample scaling of a mask about its centre (bilinear, zero fill): factor > 1 enlarges,
// < 1 shrinks. factors: [N, 2] = (scale along x, scale along y).
Tensor scale_masks(const Tensor& mask, const Tensor& factors);

// P_test of the refined-masking paper (section 3.1): zero pixels below the threshold, then
// shrink by 25% about the centre (scale 0.75). threshold: [N].
Tensor perturb_test(const Tensor& mask, const Tensor& threshold, double scale = 0.75);

// P_test to the last bit as the authors' released code computes it (perturbation_params.quantize:
// code). Per mask [N, 1, H, W]: q = m * 255 in float32; q <= threshold255 -> 0; truncated to
// uint8; then cv2.warpAffine(q, cv2.getRotationMatrix2D((W / 2, H / 2), 0, scale), (W, H),
// flags=INTER_LINEAR) with the default zero border, in OpenCV's fixed-point arithmetic (source
// positions in 1/32 pixel, 15-bit bilinear weights, as every OpenCV before 4.11 warps 8-bit
// images); the result is q' / 255 in float32. threshold255 in 0..255 (the code: 100 faces, 60).
// Checked bit for bit against OpenCV 4.6 (tests/golden/make_ptest_goldens.py).
Tensor perturb_test_code(const Tensor& mask, int threshold255, double scale = 0.75);

// P_train (section 3.1). For each axis A (rows, then columns): cut the mask into 6 strips along
// A at 5 distinct random positions in the central half, scale each strip's content along the
// other axis by U[0.75, 1.25] about the centre (strip width kept; bilinear, zero fill), then
// scale the whole mask along A by U[0.75, 1.25]. Then zero the pixels below the threshold
// ([N]) and add mask_poisson_noise(lambda). Per-sample randomness from gen. `jitter` replaces the
// paper's 0.25: every factor is drawn from U[1 - jitter, 1 + jitter].
Tensor perturb_train(const Tensor& mask, const Tensor& threshold, double lambda, Generator& gen, double jitter = 0.25);

// Vanilla CutMix mask [N, 1, H, W]: one random box per sample with area ratio 1 - lambda,
// lambda ~ Beta(1, 1) (uniform), centre uniform, clipped to the image (Yun et al. 2019).
Tensor cutmix_box_mask(int64_t n, int64_t h, int64_t w, Generator& gen, Device device = Device::cpu());

// PriorityCut mask (section 3.2). background: [N, 1, h, w] background channel of the dense
// motion mask; occlusion: [N, 1, h, w] (1 = visible). Background is binarised at `bg_threshold`
// (confident background = 1); O_fg = M_bg + (1 - M_bg) * O; per sample, with k drawn from
// U[k_min, k_max], the floor(k * F) foreground pixels (F = foreground count) with the smallest
// O_fg get 1 (ties at the cut included), all others 0. The result is upsampled (nearest) to
// (out_h, out_w).
Tensor prioritycut_mask(const Tensor& background, const Tensor& occlusion, double bg_threshold, double k_min,
                        double k_max, int64_t out_h, int64_t out_w, Generator& gen);

}  // namespace anima::kernels
