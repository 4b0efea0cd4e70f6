// Image-quality metrics for evaluating animation results (the papers' L1, PSNR, SSIM and their
// masked versions M-PSNR / M-SSIM), and the foreground IoU of `anima evaluate` on the synthetic
// data. Evaluation only: none of these is differentiable and none records an autograd node (so
// there is no gradcheck for them; the values are tested against hand-computed numbers and a
// PyTorch golden, and the GPU against the CPU).
//
// Inputs: images a, b float32 [N, C, H, W] in [0, 1], same shape and device (CPU or CUDA).
// Every metric returns one value per image, float32 [N] on the same device, so that the caller
// can average and form confidence intervals. No host synchronisation happens inside.
//
// Masked variants (the PriorityCut paper's "Salient" / "not Salient" columns). `mask` is a per-
// pixel weight [N, 1, H, W] in [0, 1] (1 = salient), shared by all channels. The paper does not
// spell the definition out; its numbers fit "multiply both images by the mask, then compute the
// ordinary metric over the whole image" and not "average over the region's pixels only" (on
// VoxCeleb PSNR all 24.28, salient 25.19, non-salient 36.19: the region MSEs 10^-2.519 and
// 10^-3.619 add up to about the whole image's 10^-2.428, and an average over only the region's
// pixels could not leave both parts better than the whole). So, with w = m (Salient) or
// w = 1 - m (NonSalient), every masked metric is the plain metric of the images w*a and w*b.
// MetricRegion::All ignores the mask (it may then be undefined).
//
// Definitions (per image n; the means run over all C*H*W elements unless stated):
//   l1   = mean |a - b|
//   mse  = mean (a - b)^2;   psnr = 10 log10(1 / mse) (peak 1), +inf where mse == 0 (identical)
//   ssim = Wang, Bovik, Sheikh, Simoncelli 2004: 11x11 Gaussian window, sigma 1.5 (normalised to
//          sum 1, applied separably), K1 = 0.01, K2 = 0.03, dynamic range L = 1:
//          ((2 mu_a mu_b + C1)(2 s_ab + C2)) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)),
//          C1 = (K1 L)^2, C2 = (K2 L)^2, moments from the window (s^2 = E[x^2] - mu^2).
//          Borders: only the valid region, windows wholly inside the image, (H-10) x (W-10)
//          positions, like the reference MATLAB code's filter2(..., 'valid') (which also
//          downsamples images larger than 256 px; we never do). Colour: SSIM is computed per
//          channel and the map is averaged over channels and positions (as skimage's
//          channel_axis). H and W must be at least 11.
//
// Numerics: float32 throughout; the CPU reduces in fixed chunks (thread-count independent).
// The SSIM moments s^2 = E[x^2] - mu^2 cancel in flat regions: there the value can differ from a
// float64 computation by up to about (mu_a^2 + mu_b^2) * 2^-20 / C2 (4e-4 at worst, 1e-5 on
// textured images; tests/golden/metrics.safetensors holds a float64 PyTorch reference).
// GPU results equal the CPU's within |gpu - cpu| <= 1e-5 + 1e-5 * |cpu| for l1, mse and ssim
// (the GPU may fuse multiply-adds in the window sums and sums in another order), and psnr within
// 1e-4 dB; segment_foreground and mask_iou are exact except for pixels whose colour distance is
// within rounding of the threshold.
#pragma once
#include "tensor/tensor.h"

namespace anima::kernels {

enum class MetricRegion { All, Salient, NonSalient };

Tensor l1_per_image(const Tensor& a, const Tensor& b, const Tensor& mask = Tensor(),
                    MetricRegion region = MetricRegion::All);
Tensor mse_per_image(const Tensor& a, const Tensor& b, const Tensor& mask = Tensor(),
                     MetricRegion region = MetricRegion::All);
// 10 log10(1 / mse) per element of mse [N]; +inf where mse == 0.
Tensor psnr_from_mse(const Tensor& mse);
Tensor ssim_per_image(const Tensor& a, const Tensor& b, const Tensor& mask = Tensor(),
                      MetricRegion region = MetricRegion::All);

// The normalised 1-D Gaussian of the SSIM window (11 taps, sigma 1.5), as used by ssim_per_image.
constexpr int kSsimWindow = 11;
void ssim_gaussian_taps(float taps[kSsimWindow]);

// Foreground against a known background: frames [N, 3, H, W], background [3, H, W] or
// [N, 3, H, W]; returns [N, 1, H, W] with 1 where the Euclidean RGB distance
// sqrt(sum_c (frame_c - background_c)^2) (values in [0, 1], so at most sqrt(3)) exceeds
// `threshold`, else 0.
Tensor segment_foreground(const Tensor& frames, const Tensor& background, float threshold);

// Intersection over union per image of two masks [N, 1, H, W], each binarised at 0.5
// (value > 0.5 is foreground). Two empty masks count as a perfect match (IoU 1).
// Exact while H * W < 2^24 (counts are summed in float32).
Tensor mask_iou(const Tensor& predicted, const Tensor& target);

}  // namespace anima::kernels
