#include "tools/data_commands.h"

#include <chrono>
#include <cstdio>

#include "data/dataset.h"
#include "data/loader.h"

namespace anima::tools {

int make_dataset(const std::string& out, const SyntheticOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  int64_t n = make_synthetic_dataset(out, o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("make-dataset: %lld videos x %lld frames at %lldx%lld (%s) in %s, seed %llu, %.1f s\n", (long long)n,
              (long long)o.frames, (long long)o.size, (long long)o.size, o.layout.c_str(), out.c_str(),
              (unsigned long long)o.seed, s);
  return 0;
}

int bench_data(const BenchDataOptions& o) {
  DatasetOptions d;
  d.frame_h = d.frame_w = o.size;
  auto t0 = std::chrono::steady_clock::now();
  VideoDataset ds(o.data, "train", d);
  int64_t frames = 0;
  for (int64_t i = 0; i < ds.size(); ++i) frames += ds.load_video(i).size(0);
  double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "bench data: %s/train: %lld videos read, %lld skipped, %lld frames decoded in %.2f s (%.0f frames/s, "
      "resized to %lldx%lld)\n",
      o.data.c_str(), (long long)ds.size(), (long long)ds.skipped(), (long long)frames, read_s, double(frames) / read_s,
      (long long)o.size, (long long)o.size);
  d.num_repeats = std::max<int64_t>(1, (o.batch * o.batches + ds.size() - 1) / ds.size());
  VideoDataset repeated(o.data, "train", d);
  TrainLoader loader(repeated, o.batch, o.workers, 2 * o.workers);
  loader.next();  // start-up
  auto t1 = std::chrono::steady_clock::now();
  for (int64_t b = 1; b < o.batches; ++b) loader.next();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("bench data: %.1f batches/s of %lld training pairs with %d workers (%.0f pairs/s)\n",
              double(o.batches - 1) / s, (long long)o.batch, o.workers, double((o.batches - 1) * o.batch) / s);
  return 0;
}

}  // namespace anima::tools
