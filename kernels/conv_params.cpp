// conv2d's shapes and parameters, and the CPU algorithm's choice and names (kernels/conv.h).
#include <atomic>
#include <utility>

#include "kernels/conv.h"
#include "tensor/error.h"

namespace anima::kernels {

namespace {
std::atomic<CpuConvAlgo> g_cpu_conv_algo{CpuConvAlgo::Auto};
}  // namespace

void set_cpu_conv_algo(CpuConvAlgo algo) { g_cpu_conv_algo.store(algo, std::memory_order_relaxed); }
CpuConvAlgo cpu_conv_algo() { return g_cpu_conv_algo.load(std::memory_order_relaxed); }

namespace {
constexpr std::pair<CpuConvAlgo, const char*> kCpuConvAlgoNames[] = {{CpuConvAlgo::Auto, "auto"},
                                                                     {CpuConvAlgo::Im2col, "im2col"},
                                                                     {CpuConvAlgo::DirectRows, "rows"},
                                                                     {CpuConvAlgo::DirectTiled, "tiled"},
                                                                     {CpuConvAlgo::Winograd, "winograd"}};
}  // namespace

const char* cpu_conv_algo_name(CpuConvAlgo algo) {
  for (const auto& [a, name] : kCpuConvAlgoNames)
    if (a == algo) return name;
  return "?";
}

CpuConvAlgo parse_cpu_conv_algo(const std::string& name) {
  for (const auto& [a, n] : kCpuConvAlgoNames)
    if (name == n) return a;
  ANIMA_FAIL("unknown CPU convolution algorithm '", name, "' (choose auto, im2col, rows, tiled or winograd)");
}

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  ANIMA_CHECK(x.ndim == 4 && w.ndim == 4, "conv2d: expected input [N, C, H, W] and weight ",
              "[Co, C/groups, kh, kw], got ", x.str(), " and ", w.str());
  ANIMA_CHECK(p.groups >= 1 && p.stride_h >= 1 && p.stride_w >= 1 && p.dil_h >= 1 && p.dil_w >= 1 && p.pad_h >= 0 &&
                  p.pad_w >= 0,
              "conv2d: invalid parameters (groups ", p.groups, ", stride ", p.stride_h, "x", p.stride_w, ", dilation ",
              p.dil_h, "x", p.dil_w, ", padding ", p.pad_h, "x", p.pad_w, ")");
  ANIMA_CHECK(x[1] % p.groups == 0 && w[0] % p.groups == 0 && w[1] * p.groups == x[1], "conv2d: input ", x.str(),
              " and weight ", w.str(), " do not match for ", p.groups,
              " groups (need C = weight[1] * groups, Co divisible by groups)");
  int64_t eff_h = p.dil_h * (w[2] - 1) + 1, eff_w = p.dil_w * (w[3] - 1) + 1;
  int64_t Ho = (x[2] + 2 * p.pad_h - eff_h) / p.stride_h + 1;
  int64_t Wo = (x[3] + 2 * p.pad_w - eff_w) / p.stride_w + 1;
  ANIMA_CHECK(x[2] + 2 * p.pad_h >= eff_h && x[3] + 2 * p.pad_w >= eff_w, "conv2d: kernel ", w[2], "x", w[3],
              " (dilation ", p.dil_h, "x", p.dil_w, ") is larger than the padded input ", x.str());
  return Shape{x[0], w[0], Ho, Wo};
}

}  // namespace anima::kernels
