#include "tools/bench_ops.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "autograd/functions.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "tensor/allocator.h"
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

double median_ms(const std::function<void()>& f, int repeats) {
  f();  // warm-up (allocator cache, cuBLAS handle, lazy initialisation)
  cuda_synchronize();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    cuda_synchronize();
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

std::vector<Entry> make_entries(Device dev, int64_t n) {
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
  e.push_back({"sum over N,H,W (bias grad)", act_str, act_bytes * 2, 0, [=] { kernels::sum(a, {0, 2, 3}); }});
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
  return e;
}

void run_device(Device dev, const BenchOptions& opt) {
  int64_t n = opt.batch > 0 ? opt.batch : (dev.is_cuda() ? 16 : 2);
  std::printf("\n== %s, batch %lld ==\n", dev.is_cuda() ? ("GPU: " + cuda_status()).c_str() : "CPU",
              (long long)n);
  std::printf("%-30s %-26s %10s %10s %10s\n", "op", "shape", "ms", "GB/s", "GFLOP/s");
  reset_peak_memory(dev);
  for (const Entry& e : make_entries(dev, n)) {
    if (!opt.filter.empty() && e.name.find(opt.filter) == std::string::npos) continue;
    double ms = median_ms(e.run, opt.repeats);
    double gbs = e.bytes / (ms * 1e-3) / 1e9;
    if (e.flops > 0)
      std::printf("%-30s %-26s %10.3f %10.1f %10.1f\n", e.name.c_str(), e.shape.c_str(), ms, gbs,
                  e.flops / (ms * 1e-3) / 1e9);
    else
      std::printf("%-30s %-26s %10.3f %10.1f %10s\n", e.name.c_str(), e.shape.c_str(), ms, gbs, "-");
  }
  std::printf("peak memory: %.1f MiB\n", double(memory_stats(dev).peak) / (1 << 20));
}

}  // namespace

int bench_ops(const BenchOptions& opt) {
  std::printf("anima bench ops; %s; median of %d runs after one warm-up\n",
              device_report().c_str(), opt.repeats);
  bool want_cpu = opt.device == "cpu" || opt.device == "all";
  bool want_gpu = opt.device == "cuda" || opt.device == "all";
  if (want_cpu) run_device(Device::cpu(), opt);
  if (want_gpu) {
    if (cuda_available())
      run_device(Device::cuda(), opt);
    else if (opt.device == "cuda")
      throw Error("bench ops: --device cuda requested but " + cuda_status());
    else
      std::printf("\n(GPU skipped: %s)\n", cuda_status().c_str());
  }
  return 0;
}

}  // namespace anima::tools
