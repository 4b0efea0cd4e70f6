// The `anima` command line. Every subcommand catches errors at the top, prints one clear line and
// exits non-zero.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tensor/error.h"
#include "tensor/runtime.h"
#include "tools/bench.h"

int main(int argc, char** argv) {
  CLI::App app{"anima: image animation (refined masking, First Order Motion Model + PriorityCut) "
               "on a from-scratch C++/CUDA deep-learning framework"};
  app.require_subcommand(1);

  auto* info = app.add_subcommand("info", "print the build and the available devices");

  auto* bench = app.add_subcommand("bench", "time ops on the CPU and the GPU");
  bench->require_subcommand(1);
  anima::tools::BenchOptions bench_opt;
  auto* bench_ops = bench->add_subcommand("ops", "elementwise, reductions, softmax, matmul, layout, conv, norms, resampling, Adam");
  auto* bench_kernels = bench->add_subcommand("kernels", "image-animation kernels at 256x256: grid_sample, keypoints, pyramid, perceptual loss, augmentations");
  for (CLI::App* sub : {bench_ops, bench_kernels}) {
    sub->add_option("--device", bench_opt.device, "cpu, cuda or all")->check(CLI::IsMember({"cpu", "cuda", "all"}));
    sub->add_option("--batch", bench_opt.batch, "batch size (default 16 on the GPU, 2 on the CPU)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--repeats", bench_opt.repeats, "timed runs per op")->check(CLI::PositiveNumber);
    sub->add_option("--filter", bench_opt.filter, "only ops whose name contains this text");
  }

  CLI11_PARSE(app, argc, argv);
  try {
    if (info->parsed()) {
      std::printf("anima: built %s CUDA\n", anima::built_with_cuda() ? "with" : "without");
      std::printf("device: %s\n", anima::device_report().c_str());
      return 0;
    }
    if (bench_ops->parsed() || bench_kernels->parsed()) {
      bench_opt.suite = bench_ops->parsed() ? "ops" : "kernels";
      return anima::tools::run_bench(bench_opt);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anima: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
