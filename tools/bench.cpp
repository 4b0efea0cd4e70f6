#include "tools/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "kernels/augment.h"
#include "kernels/color.h"
#include "kernels/cpu_blas.h"
#include "kernels/cpu_report.h"
#include "kernels/elementwise.h"
#include "kernels/math_mode.h"
#include "kernels/matmul.h"
#include "kernels/metrics.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/select.h"
#include "kernels/shape_ops.h"
#include "layers/optim.h"
#include "layers/vgg.h"
#include "models/fomm/geometry.h"
#include "models/registry.h"
#include "tensor/allocator.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"

namespace anima::tools {
namespace {

struct Entry {
  std::string name;
  std::string shape;
  double bytes;  // bytes read + written by one call (forward [+ backward]), for GB/s
  double flops;  // 0 when not meaningful
  std::function<void()> run;
};

// Median, fastest and slowest of `repeats` timed runs after one warm-up run (allocator cache,
// cuBLAS/cuDNN handles and algorithm choices, lazy initialisation). On the GPU each run is timed
// with CUDA events (device time); on the CPU with the host's steady clock.
struct Timing {
  double median = 0, min = 0, max = 0;
};

Timing time_runs(const std::function<void()>& f, int repeats, Device dev) {
  f();
  cuda_synchronize();
  std::vector<double> ms;
  std::unique_ptr<GpuTimer> timer;
  if (dev.is_cuda()) timer = std::make_unique<GpuTimer>();
  for (int i = 0; i < repeats; ++i) {
    if (timer) {
      timer->start();
      f();
      ms.push_back(timer->stop_ms());
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    f();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

// The machine's ceilings, measured in the same run as the figures printed beside them: a large
// FP32 matrix product (cuBLAS SGEMM, strict FP32; OpenBLAS on the CPU, one thread per GEMM as
// anima runs it) and a large copy (device to device on the GPU; memcpy on the CPU), counting
// bytes read plus bytes written.
struct Ceilings {
  double gemm_gflops = 0, copy_gbs = 0;
  std::string text;
};

Ceilings measure_ceilings(Device dev, int repeats) {
  Generator gen(9);
  int64_t n = dev.is_cuda() ? 8192 : 1024;
  Tensor a = kernels::uniform(Shape{n, n}, -1.f, 1.f, gen, dev), b = kernels::uniform(Shape{n, n}, -1.f, 1.f, gen, dev);
  Timing g = time_runs([&] { kernels::matmul(a, b, false, false); }, repeats, dev);
  int64_t m = dev.is_cuda() ? (int64_t(256) << 20) : (int64_t(32) << 20);  // floats: 1 GiB / 128 MiB
  Tensor src = kernels::uniform(Shape{m}, -1.f, 1.f, gen, dev), dst = Tensor::empty(Shape{m}, DType::F32, dev);
  Timing c = time_runs([&] { raw::copy_into(dst, src); }, repeats, dev);
  Ceilings r;
  r.gemm_gflops = 2.0 * double(n) * double(n) * double(n) / (g.median * 1e-3) / 1e9;
  r.copy_gbs = 2.0 * double(m) * 4 / (c.median * 1e-3) / 1e9;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "ceilings measured now: FP32 GEMM %.0f GFLOP/s (%lld^3), copy %.0f GB/s (%s, read + write)",
                r.gemm_gflops, (long long)n, r.copy_gbs, dev.is_cuda() ? "1 GiB device to device" : "128 MiB memcpy");
  r.text = buf;
  return r;
}

// Appends rows to a CSV file (header first when the file is new), for bench/torch_ops.py's
// side-by-side comparison (tools/gpu_check.sh).
void append_csv(const std::string& path, const std::string& row) {
  if (path.empty()) return;
  bool fresh = !std::filesystem::exists(path);
  std::ofstream f(path, std::ios::app);
  ANIMA_CHECK(f.good(), "bench: cannot write ", path);
  if (fresh) f << "suite,device,batch,op,shape,ms_median,ms_min,ms_max,gb_per_s,gflop_per_s\n";
  f << row << "\n";
}

std::vector<Entry> op_entries(Device dev, int64_t n) {
  Generator gen(1);
  auto input = [&](const Shape& s, bool grad) {
    Tensor t = kernels::uniform(s, -1.f, 1.f, gen, dev);
    if (grad) t.set_requires_grad(true);
    return t;
  };
  std::vector<Entry> e;
  const double f4 = 4.0;
  // Activation-sized tensors as in the 256x256 generators: 64 channels at 128x128.
  Shape act{n, 64, 128, 128};
  double act_bytes = double(act.numel()) * f4;
  std::string act_str = act.str();
  Tensor a = input(act, false), b = input(act, false), bias = input(Shape{1, 64, 1, 1}, false);
  Tensor ag = input(act, true);
  e.push_back({"add (same shape)", act_str, 3 * act_bytes, 0, [=] { kernels::add(a, b); }});
  e.push_back({"add (channel bias broadcast)", act_str, 2 * act_bytes, 0, [=] { kernels::add(a, bias); }});
  e.push_back({"mul", act_str, 3 * act_bytes, 0, [=] { kernels::mul(a, b); }});
  e.push_back({"exp", act_str, 2 * act_bytes, 0, [=] { kernels::exp(a); }});
  e.push_back({"sigmoid fwd+bwd", act_str, 5 * act_bytes, 0, [=] {
                 Tensor y = sigmoid(ag);
                 y.backward(y.detach());
               }});
  e.push_back({"relu fwd+bwd", act_str, 5 * act_bytes, 0, [=] {
                 Tensor y = relu(ag);
                 y.backward(y.detach());
               }});
  e.push_back({"sum over N,H,W (bias grad)", act_str, act_bytes, 0, [=] { kernels::sum(a, {0, 2, 3}); }});
  e.push_back({"sum over H,W", act_str, act_bytes, 0, [=] { kernels::sum(a, {2, 3}); }});
  e.push_back({"sum all", act_str, act_bytes, 0, [=] { kernels::sum(a); }});
  e.push_back({"amax over C", act_str, act_bytes * 2, 0, [=] { kernels::amax(a, {1}); }});
  e.push_back({"permute NCHW->NHWC", act_str, 2 * act_bytes, 0, [=] { kernels::permute(a, {0, 2, 3, 1}); }});
  e.push_back({"concat channels", act_str, 4 * act_bytes, 0, [=] { kernels::concat({a, b}, 1); }});
  e.push_back({"slice (half the channels)", act_str, act_bytes, 0, [=] { kernels::slice(a, 1, 0, 32); }});
  e.push_back({"randn fill", act_str, act_bytes, 0, [=] { kernels::normal_(a, 0.f, 1.f, 1, 2); }});
  // Dense-motion softmax: K+1 = 11 masks at 64x64, over the channel dimension, and the
  // keypoint detector's spatial softmax over 58x58 heatmaps.
  Shape masks{n, 11, 64, 64};
  Tensor m = input(masks, true);
  e.push_back({"softmax over C fwd+bwd", masks.str(), double(masks.numel()) * f4 * 8, 0, [=] {
                 Tensor y = softmax(m, 1);
                 y.backward(y.detach());
               }});
  Shape heat{n, 10, 58 * 58};
  Tensor h = input(heat, true);
  e.push_back({"softmax over H*W fwd+bwd", heat.str(), double(heat.numel()) * f4 * 8, 0, [=] {
                 Tensor y = softmax(h, 2);
                 y.backward(y.detach());
               }});
  // A linear layer on a batch of feature vectors.
  int64_t rows = 256 * n, k = 1024, cols = 1024;
  Tensor x = input(Shape{rows, k}, true), w = input(Shape{cols, k}, true);
  double mm_flops = 2.0 * double(rows) * double(k) * double(cols);
  e.push_back({"matmul x W^T fwd+bwd", Shape{rows, k}.str() + "x" + Shape{cols, k}.str(),
               double(rows * k + cols * k + rows * cols) * f4 * 3, 3 * mm_flops, [=] {
                 Tensor y = matmul(x, w, false, true);
                 y.backward(y.detach());
               }});
  // Layers at the shapes of the 256x256 generators (issue 3).
  Tensor w3 = input(Shape{64, 64, 3, 3}, true), b3 = input(Shape{64}, true);
  double conv_flops = 2.0 * double(act.numel()) * 64 * 9;
  e.push_back({"conv2d 3x3 64->64 fwd", act_str, 2 * act_bytes, conv_flops, [=] {
                 NoGradGuard no_grad;
                 conv2d(ag, w3, b3, Conv2dParams{1, 1, 1, 1, 1, 1, 1});
               }});
  e.push_back({"conv2d 3x3 64->64 fwd+bwd", act_str, 6 * act_bytes, 3 * conv_flops, [=] {
                 Tensor y = conv2d(ag, w3, b3, Conv2dParams{1, 1, 1, 1, 1, 1, 1});
                 y.backward(y.detach());
               }});
  Shape img{n, 3, 256, 256};
  Tensor x_img = input(img, true), w7 = input(Shape{64, 3, 7, 7}, true);
  double c7_flops = 2.0 * double(n) * 64 * 256 * 256 * 3 * 49;
  e.push_back(
      {"conv2d 7x7 3->64 fwd+bwd", img.str(), double(img.numel() + n * 64 * 256 * 256) * f4 * 3, 3 * c7_flops, [=] {
         Tensor y = conv2d(x_img, w7, Tensor(), Conv2dParams{1, 1, 3, 3, 1, 1, 1});
         y.backward(y.detach());
       }});
  // A generator's output layer: 7x7 from 64 channels to the 3 of an image.
  Tensor w7o = input(Shape{3, 64, 7, 7}, true), b7o = input(Shape{3}, true);
  e.push_back({"conv2d 7x7 64->3 fwd+bwd", act_str, (act_bytes + act_bytes * 3 / 64) * 3,
               3 * 2.0 * double(act.numel()) * 3 * 49, [=] {
                 Tensor y = conv2d(ag, w7o, b7o, Conv2dParams{1, 1, 3, 3, 1, 1, 1});
                 y.backward(y.detach());
               }});
  Tensor bn_w = input(Shape{64}, true), bn_b = input(Shape{64}, true);
  Tensor rm = kernels::full(Shape{64}, 0.0, DType::F32, dev), rv = kernels::full(Shape{64}, 1.0, DType::F32, dev);
  e.push_back({"batch_norm train fwd+bwd", act_str, 6 * act_bytes, 0, [=] {
                 Tensor y = batch_norm(ag, bn_w, bn_b, rm, rv, true);
                 y.backward(y.detach());
               }});
  e.push_back({"interpolate bilinear x2 fwd+bwd", act_str, 10 * act_bytes, 0, [=] {
                 Tensor y = interpolate_scale(ag, 2.0, InterpMode::Bilinear);
                 y.backward(y.detach());
               }});
  e.push_back({"avg_pool2d 2x2 fwd+bwd", act_str, 2.5 * act_bytes, 0, [=] {
                 Tensor y = avg_pool2d(ag, 2);
                 y.backward(y.detach());
               }});
  // One Adam step over a KP-detector-sized parameter vector (14.2 M floats).
  Tensor params = input(Shape{14215368}, true);
  params.backward(kernels::uniform(params.shape(), -1.f, 1.f, gen, dev));
  auto adam = std::make_shared<Adam>(NamedTensors{{"p", params}}, AdamOptions{2e-4, 0.5, 0.999});
  e.push_back(
      {"adam step (14.2M params)", Shape{14215368}.str(), double(params.numel()) * f4 * 7, 0, [=] { adam->step(); }});
  return e;
}

// The image-animation kernels of issue 4 at the 256x256 shapes.
std::vector<Entry> kernel_entries(Device dev, int64_t n) {
  Generator gen(2);
  auto input = [&](const Shape& s, float lo, float hi, bool grad) {
    Tensor t = kernels::uniform(s, lo, hi, gen, dev);
    if (grad) t.set_requires_grad(true);
    return t;
  };
  std::vector<Entry> e;
  const double f4 = 4.0;
  // FOMM warps the 3-channel source and 64..256-channel feature maps with a 64x64 or 256x256 grid.
  Shape img{n, 3, 256, 256}, feat{n, 256, 64, 64};
  Tensor x = input(img, 0, 1, true), grid = input(Shape{n, 256, 256, 2}, -1, 1, true);
  Tensor f = input(feat, -1, 1, true), fgrid = input(Shape{n, 64, 64, 2}, -1, 1, true);
  double img_b = double(img.numel()) * f4, grid_b = double(n * 256 * 256 * 2) * f4;
  e.push_back({"grid_sample image fwd", img.str(), 2 * img_b + grid_b, 0, [=] {
                 NoGradGuard ng;
                 grid_sample(x, grid);
               }});
  e.push_back({"grid_sample image fwd+bwd", img.str(), 5 * img_b + 3 * grid_b, 0, [=] {
                 Tensor y = grid_sample(x, grid);
                 y.backward(y.detach());
               }});
  double feat_b = double(feat.numel()) * f4;
  e.push_back({"grid_sample features fwd+bwd", feat.str(), 5 * feat_b + 3 * double(n * 64 * 64 * 2) * f4, 0, [=] {
                 Tensor y = grid_sample(f, fgrid);
                 y.backward(y.detach());
               }});
  Tensor kp = input(Shape{n, 10, 2}, -1, 1, true);
  e.push_back(
      {"kp2gaussian 10 kp @64x64 fwd+bwd", Shape{n, 10, 64, 64}.str(), double(n * 10 * 64 * 64) * f4 * 4, 0, [=] {
         Tensor h = fomm::kp2gaussian(kp, 64, 64, 0.01f);
         h.backward(h.detach());
       }});
  Tensor pred = input(Shape{n, 10, 58, 58}, -1, 1, true);
  e.push_back({"heatmap->keypoints fwd+bwd", pred.shape().str(), double(pred.numel()) * f4 * 6, 0, [=] {
                 Tensor v = fomm::heatmap_to_keypoints(pred, 0.1f).value;
                 v.backward(v.detach());
               }});
  auto pyramid = std::make_shared<ImagePyramid>(std::vector<double>{1, 0.5, 0.25, 0.125}, 3);
  pyramid->to(dev);
  e.push_back({"anti-alias pyramid (4 scales)", img.str(), img_b * 2, 0, [=] {
                 NoGradGuard ng;
                 pyramid->forward(x);
               }});
  Generator vgen(3);
  auto vgg = std::make_shared<Vgg19>(vgen);
  vgg->to(dev);
  auto loss = std::make_shared<PerceptualLoss>(vgg, PerceptualLossConfig{});
  loss->to(dev);
  Tensor real = input(img, 0, 1, false);
  // Bytes: the VGG activations up to relu5_1 written and read once per pass, both images, all
  // scales (a lower bound of the traffic; the convolutions dominate the time).
  double vgg_b = 0;
  for (double s : {1.0, 0.5, 0.25, 0.125}) vgg_b += 2 * 2 * double(n) * 256 * 256 * s * s * 64 * 2 * 2.7 * f4;
  e.push_back({"perceptual loss fwd+bwd", img.str(), vgg_b * 1.5, 0, [=] {
                 Tensor l = loss->forward(x, real);
                 l.backward();
               }});
  Shape masks{n, 1, 64, 64};
  Tensor m = input(masks, 0, 1, false);
  e.push_back({"poisson lambda=20", masks.str(), double(masks.numel()) * f4, 0,
               [=] { kernels::poisson(masks, 20.0, 1, 2, dev); }});
  e.push_back({"per-sample median", masks.str(), double(masks.numel()) * f4, 0, [=] {
                 kernels::row_median(raw::view(m, Shape{n, 64 * 64}));
               }});
  auto pgen = std::make_shared<Generator>(4);
  e.push_back({"P_train", masks.str(), double(masks.numel()) * f4 * 12, 0, [=] {
                 kernels::perturb_train(m, kernels::row_median(raw::view(m, Shape{n, 64 * 64})), 20.0, *pgen);
               }});
  e.push_back({"P_test", masks.str(), double(masks.numel()) * f4 * 4, 0, [=] {
                 kernels::perturb_test(m, kernels::row_median(raw::view(m, Shape{n, 64 * 64})));
               }});
  e.push_back({"P_test (quantize: code)", masks.str(), double(masks.numel()) * f4 * 2, 0,
               [=] { kernels::perturb_test_code(m, 100); }});
  Tensor occ = input(masks, 0, 1, false);
  e.push_back({"PriorityCut mask (64->256)", masks.str(), double(masks.numel()) * f4 * 6, 0,
               [=] { kernels::prioritycut_mask(m, occ, 0.5, 0.1, 0.5, 256, 256, *pgen); }});
  e.push_back({"CutMix box mask", Shape{n, 1, 256, 256}.str(), double(n * 256 * 256) * f4, 0,
               [=] { kernels::cutmix_box_mask(n, 256, 256, *pgen, dev); }});
  e.push_back({"colour jitter", img.str(), img_b * 10, 0,
               [=] { kernels::color_jitter(real, kernels::draw_color_jitter(n, 0.1f, 0.1f, 0.1f, 0.1f, *pgen)); }});
  // Evaluation metrics (anima evaluate): SSIM reads both images and writes/reads 5 moment planes.
  Tensor gen_img = input(img, 0, 1, false), sal = input(Shape{n, 1, 256, 256}, 0, 1, false);
  e.push_back({"metrics: L1 + MSE per image", img.str(), img_b * 8, 0, [=] {
                 kernels::l1_per_image(gen_img, real);
                 kernels::mse_per_image(gen_img, real);
               }});
  e.push_back({"metrics: SSIM per image", img.str(), img_b * 14, double(img.numel()) * 2 * 11 * 10,
               [=] { kernels::ssim_per_image(gen_img, real); }});
  e.push_back({"metrics: SSIM salient (masked)", img.str(), img_b * 14 + double(n * 256 * 256) * f4, 0,
               [=] { kernels::ssim_per_image(gen_img, real, sal, kernels::MetricRegion::Salient); }});
  Shape vf{n, 64, 256, 256};
  Tensor mp = input(vf, -1, 1, true);
  e.push_back({"max_pool2d 2x2 fwd+bwd", vf.str(), double(vf.numel()) * f4 * 2.5, 0, [=] {
                 Tensor y = max_pool2d(mp, 2);
                 y.backward(y.detach());
               }});
  return e;
}

void run_device(Device dev, const BenchOptions& opt) {
  int64_t n = opt.batch > 0 ? opt.batch : (dev.is_cuda() ? 16 : 2);
  std::printf("\n== %s, batch %lld ==\n", dev.is_cuda() ? ("GPU: " + cuda_status()).c_str() : "CPU", (long long)n);
  Ceilings ceil = measure_ceilings(dev, opt.repeats);
  std::printf("%s\n", ceil.text.c_str());
  std::printf("%-30s %-26s %10s %8s %9s %6s %10s %6s\n", "op", "shape", "ms", "spread", "GB/s", "%copy", "GFLOP/s",
              "%gemm");
  reset_peak_memory(dev);
  for (const Entry& e : opt.suite == "kernels" ? kernel_entries(dev, n) : op_entries(dev, n)) {
    if (!opt.filter.empty() && e.name.find(opt.filter) == std::string::npos) continue;
    Timing t = time_runs(e.run, opt.repeats, dev);
    double gbs = e.bytes / (t.median * 1e-3) / 1e9;
    double gflops = e.flops > 0 ? e.flops / (t.median * 1e-3) / 1e9 : 0;
    // spread: (slowest - fastest) / median of the timed runs
    double spread = 100.0 * (t.max - t.min) / t.median;
    std::printf("%-30s %-26s %10.3f %7.0f%% %9.1f %5.0f%%", e.name.c_str(), e.shape.c_str(), t.median, spread, gbs,
                100.0 * gbs / ceil.copy_gbs);
    if (e.flops > 0)
      std::printf(" %10.1f %5.0f%%\n", gflops, 100.0 * gflops / ceil.gemm_gflops);
    else
      std::printf(" %10s %6s\n", "-", "-");
    char row[512];
    std::snprintf(row, sizeof row, "%s,%s,%lld,\"%s\",\"%s\",%.6g,%.6g,%.6g,%.6g,%.6g", opt.suite.c_str(),
                  dev.is_cuda() ? "cuda" : "cpu", (long long)n, e.name.c_str(), e.shape.c_str(), t.median, t.min, t.max,
                  gbs, gflops);
    append_csv(opt.csv, row);
  }
  std::printf("peak memory: %.1f MiB\n", double(memory_stats(dev).peak) / (1 << 20));
}

}  // namespace

int run_bench(const BenchOptions& opt) {
  ANIMA_CHECK(opt.suite == "ops" || opt.suite == "kernels", "bench: unknown suite '", opt.suite, "'");
  std::printf("anima bench %s; %s; %s; %s; median of %d runs after one warm-up (GPU: CUDA events)\n", opt.suite.c_str(),
              device_report().c_str(), kernels::cpu_report().c_str(), math_mode_report().c_str(), opt.repeats);
  bool want_cpu = opt.device == "cpu" || opt.device == "all";
  bool want_gpu = opt.device == "cuda" || opt.device == "all";
  if (want_cpu) run_device(Device::cpu(), opt);
  if (want_gpu) {
    if (cuda_available())
      run_device(Device::cuda(), opt);
    else if (opt.device == "cuda")
      throw Error("bench: --device cuda requested but " + cuda_status());
    else
      std::printf("\n(GPU skipped: %s)\n", cuda_status().c_str());
  }
  return 0;
}

}  // namespace anima::tools

namespace anima::tools {

namespace {

// The report of `bench model`: the training step's median time and peak memory, then (after
// `to_inference`, which switches to eval mode) the animation rate at each animation batch size.
// `animation(B)` prepares B source/driving frames and what a video needs once (the source's
// keypoints or mask), and returns the call that animates them.
using AnimationAt = std::function<std::function<void()>(int64_t)>;

void time_model(const char* model, const BenchModelOptions& o, int64_t b, int64_t h, int64_t w, Device dev,
                const std::function<void()>& train_step, const std::function<void()>& to_inference,
                const AnimationAt& animation) {
  std::printf("anima bench model %s; %s; %s; %s; config %s; batch %lld at %lldx%lld on %s; %s\n", model,
              device_report().c_str(), kernels::cpu_report().c_str(), math_mode_report().c_str(), o.config.c_str(),
              (long long)b, (long long)h, (long long)w, dev.str().c_str(),
              dev.is_cuda() ? "timed with CUDA events" : "timed with the host clock");
  // The machine's ceilings in the same run, for reading the figures below against.
  std::printf("%s\n", measure_ceilings(dev, 5).text.c_str());
  if (!o.skip_train) {
    reset_peak_memory(dev);
    Timing step = time_runs(train_step, o.steps, dev);
    std::printf(
        "training step: %.1f ms (median of %d after a warm-up; fastest %.1f, slowest %.1f), peak memory %.1f MiB\n",
        step.median, o.steps, step.min, step.max, double(memory_stats(dev).peak) / (1 << 20));
  }
  NoGradGuard no_grad;
  to_inference();
  std::vector<int> batches = o.anim_batches;
  if (batches.empty()) batches.push_back(int(b));
  for (int ab : batches) {
    ANIMA_CHECK(ab > 0, "bench model: --anim-batch must be positive, got ", ab);
    reset_peak_memory(dev);
    Timing t = time_runs(animation(ab), o.steps, dev);
    std::printf(
        "animation: %.1f frames/s (batch %d, %.2f ms per batch, fastest %.2f, slowest %.2f; the model's "
        "reconstruction pipeline per frame), peak memory %.1f MiB\n",
        double(ab) / (t.median * 1e-3), ab, t.median, t.min, t.max, double(memory_stats(dev).peak) / (1 << 20));
  }
}

Tensor random_frames(int64_t b, int64_t h, int64_t w, Generator& gen, Device dev) {
  return kernels::uniform(Shape{b, 3, h, w}, 0.f, 1.f, gen, dev);
}

}  // namespace

std::string find_config(const std::string& relative) {
  namespace fs = std::filesystem;
  if (fs::exists(relative)) return relative;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path beside = ec ? fs::path() : exe.parent_path().parent_path() / relative;
  ANIMA_CHECK(!beside.empty() && fs::exists(beside), relative,
              ": not in the working directory nor beside the executable (", beside.string(), "); pass --config");
  return beside.string();
}

int bench_model(const BenchModelOptions& o) {
  std::unique_ptr<ModelConfig> model = load_model_config(o.config);
  Device dev = resolve_device(o.device, "bench model");
  Generator gen(0);
  const RunConfig& run = model->run();
  int64_t b = o.batch > 0 ? o.batch : model->schedule().batch_size, h = run.frame_h(), w = run.frame_w();
  std::unique_ptr<Trainer> trainer = model->make_trainer(std::make_shared<Vgg19>(gen), gen, dev);
  trainer->set_epoch(trainer->all_terms_epoch());  // every loss term, as after any warm-up
  Tensor src = random_frames(b, h, w, gen, dev), drv = random_frames(b, h, w, gen, dev);
  std::unique_ptr<Animator> animator;
  time_model(
      model->kind(), o, b, h, w, dev, [&] { trainer->step(src, drv); }, [&] { animator = trainer->animator(); },
      [&](int64_t ab) -> std::function<void()> {
        // what a video needs once (the source's keypoints or mask) is prepared outside the timing
        Tensor s = random_frames(ab, h, w, gen, dev), d = random_frames(ab, h, w, gen, dev);
        animator->set_source(s);
        return [&animator, d] { animator->reconstruct(d); };
      });
  return 0;
}

}  // namespace anima::tools
