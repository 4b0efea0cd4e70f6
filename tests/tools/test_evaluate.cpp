// `anima evaluate` end to end on tiny videos the test writes: videos matched by name across
// strips, frame folders and mp4 files, masked metrics, keypoints and embeddings, the synthetic
// dataset's foreground IoU, the summary statistics, output files, and bad inputs.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/image_io.h"
#include "data/synthetic.h"
#include "data/video_io.h"
#include "kernels/metrics.h"
#include "kernels/shape_ops.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"
#include "tools/evaluate.h"

using namespace anima;
using tools::EvaluateOptions;
using tools::MethodResult;
using tools::MetricSummary;

namespace {

constexpr int64_t kSize = 16;
constexpr int kOffset = 26;  // the generated frames are the ground truth + 26 grey levels

struct TempDir {
  std::string path = "/tmp/anima_test_evaluate_" + std::to_string(::getpid());
  TempDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Frame f of video v: uint8 [16, 16, 3], values in [30, 200) (+ offset), deterministic.
Tensor frame(int v, int f, int offset) {
  std::vector<uint8_t> px(kSize * kSize * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(30 + (i * 7 + size_t(v) * 31 + size_t(f) * 13) % 170 + offset);
  return Tensor::from_vector(px, Shape{kSize, kSize, 3});
}

std::vector<Tensor> video(int v, int frames, int offset) {
  std::vector<Tensor> out;
  for (int f = 0; f < frames; ++f) out.push_back(frame(v, f, offset));
  return out;
}

void write_strip(const std::string& path, const std::vector<Tensor>& frames) {
  write_image(path, kernels::concat(frames, 1));
}

void write_folder(const std::string& dir, const std::vector<Tensor>& frames) {
  std::filesystem::create_directories(dir);
  for (size_t f = 0; f < frames.size(); ++f) write_image(dir + "/" + std::to_string(100 + f) + ".png", frames[f]);
}

const MetricSummary& metric(const MethodResult& r, const std::string& name) {
  for (const MetricSummary& s : r.metrics)
    if (s.metric == name) return s;
  FAIL("no metric " << name);
  static MetricSummary none;
  return none;
}

// Ground truth: a.png (strip), b/ (frames); generated: a/ (frames), b.png (strip), +26 levels.
// Masks: left half salient.
void write_pair(const std::string& d) {
  std::filesystem::create_directories(d + "/gt");
  std::filesystem::create_directories(d + "/gen");
  std::filesystem::create_directories(d + "/masks");
  write_strip(d + "/gt/a.png", video(0, 3, 0));
  write_folder(d + "/gt/b", video(1, 2, 0));
  write_folder(d + "/gen/a", video(0, 3, kOffset));
  write_strip(d + "/gen/b.png", video(1, 2, kOffset));
  std::vector<uint8_t> m(kSize * kSize * 3, 0);
  for (int64_t y = 0; y < kSize; ++y)
    for (int64_t x = 0; x < kSize / 2; ++x)
      for (int c = 0; c < 3; ++c) m[size_t((y * kSize + x) * 3 + c)] = 255;
  Tensor mask = Tensor::from_vector(m, Shape{kSize, kSize, 3});
  write_strip(d + "/masks/a.png", {mask, mask, mask});
  write_strip(d + "/masks/b.png", {mask, mask});
}

}  // namespace

TEST_SUITE("tools.evaluate") {

TEST_CASE("evaluate: summary mean and 95% interval over frames; infinite PSNR reported as such") {
  MetricSummary s = tools::summarize("L1", {1, 2, 3, 4});
  CHECK(s.mean == 2.5);
  CHECK(s.stddev == doctest::Approx(std::sqrt(5.0 / 3)));
  CHECK(s.ci95 == doctest::Approx(1.96 * std::sqrt(5.0 / 3) / 2));
  CHECK(s.count == 4);
  MetricSummary inf = tools::summarize("PSNR", {30, INFINITY});
  CHECK(std::isinf(inf.mean));
  CHECK(inf.infinite == 1);
  CHECK(std::isnan(tools::summarize("AKD", {}).mean));
  CHECK(std::isnan(tools::summarize("AKD", {1.5}).ci95));
}

TEST_CASE("evaluate: videos matched by name across strips and frame folders, with masks") {
  TempDir t;
  write_pair(t.path);
  EvaluateOptions o;
  o.generated = {t.path + "/gen"};
  o.ground_truth = t.path + "/gt";
  o.masks = t.path + "/masks";
  o.device = "cpu";
  o.quiet = true;
  o.batch = 2;  // batches split a video
  std::vector<MethodResult> r = tools::evaluate_methods(o);
  REQUIRE(r.size() == 1);
  CHECK(r[0].name == "gen");
  double d = kOffset / 255.0;
  CHECK(metric(r[0], "L1").count == 5);
  CHECK(metric(r[0], "L1").mean == doctest::Approx(d).epsilon(1e-5));
  CHECK(metric(r[0], "L1").ci95 == doctest::Approx(0).epsilon(1e-5));
  CHECK(metric(r[0], "PSNR").mean == doctest::Approx(20 * std::log10(255.0 / kOffset)).epsilon(1e-5));
  CHECK(metric(r[0], "L1 salient").mean == doctest::Approx(d / 2).epsilon(1e-5));
  CHECK(metric(r[0], "L1 non-salient").mean == doctest::Approx(d / 2).epsilon(1e-5));
  CHECK(metric(r[0], "PSNR salient").mean ==
        doctest::Approx(20 * std::log10(255.0 / kOffset) + 10 * std::log10(2.0)).epsilon(1e-5));
  // SSIM: the mean of the kernel's values on the same frames.
  double ssim = 0;
  for (int v = 0; v < 2; ++v)
    for (int f = 0; f < 3 - v; ++f) {
      Tensor g = image_to_chw(frame(v, f, kOffset)).reshape({1, 3, kSize, kSize});
      ssim += kernels::ssim_per_image(g, image_to_chw(frame(v, f, 0)).reshape({1, 3, kSize, kSize})).item() / 5;
    }
  CHECK(metric(r[0], "SSIM").count == 5);
  CHECK(metric(r[0], "SSIM").mean == doctest::Approx(ssim).epsilon(1e-6));
  CHECK(metric(r[0], "SSIM").mean < 1);
  // A single generated video against a single ground-truth video pairs whatever the names.
  o.generated = {t.path + "/gen/a"};
  o.ground_truth = t.path + "/gt/a.png";
  o.masks.clear();
  std::vector<MethodResult> one = tools::evaluate_methods(o);
  CHECK(metric(one[0], "SSIM").count == 3);
  CHECK(metric(one[0], "SSIM").mean < 1);
  CHECK(one[0].name == "a");
}

TEST_CASE("evaluate: mp4 videos, several methods, keypoints and embeddings, output files") {
  REQUIRE_VIDEO_OR_SKIP();
  TempDir t;
  std::string d = t.path;
  std::filesystem::create_directories(d + "/gt");
  std::filesystem::create_directories(d + "/m1");
  std::filesystem::create_directories(d + "/m2");
  write_video(d + "/gt/clip.mp4", video(2, 4, 0), 25.0);
  std::filesystem::copy_file(d + "/gt/clip.mp4", d + "/m1/clip.mp4");
  write_video(d + "/m2/clip.mp4", video(2, 4, kOffset), 25.0);
  write_file_atomic(d + "/kp_gt.csv", "frame,x0,y0\n0,0,0\n1,0,0\n");
  write_file_atomic(d + "/kp_m1.csv", "frame,x0,y0\n0,0,0\n1,0,0\n");
  write_file_atomic(d + "/kp_m2.csv", "frame,x0,y0\n0,3,4\n1,,\n");
  write_file_atomic(d + "/emb_gt.csv", "frame,e0,e1\n0,0,0\n1,0,0\n");
  write_file_atomic(d + "/emb_m1.csv", "frame,e0,e1\n0,0,0\n1,0,0\n");
  write_file_atomic(d + "/emb_m2.csv", "frame,e0,e1\n0,0,1\n1,0,3\n");
  EvaluateOptions o;
  o.generated = {d + "/m1", d + "/m2"};
  o.names = {"copy", "offset"};
  o.ground_truth = d + "/gt";
  o.keypoints_generated = {d + "/kp_m1.csv", d + "/kp_m2.csv"};
  o.keypoints_gt = d + "/kp_gt.csv";
  o.embeddings_generated = {d + "/emb_m1.csv", d + "/emb_m2.csv"};
  o.embeddings_gt = d + "/emb_gt.csv";
  o.out = d + "/result";
  o.device = "cpu";
  o.quiet = true;
  std::vector<MethodResult> r = tools::evaluate_methods(o);
  REQUIRE(r.size() == 2);
  CHECK(metric(r[0], "L1").mean == 0);
  CHECK(std::isinf(metric(r[0], "PSNR").mean));
  CHECK(metric(r[0], "PSNR").infinite == 4);
  CHECK(metric(r[0], "SSIM").mean == 1);
  CHECK(metric(r[1], "L1").mean == doctest::Approx(kOffset / 255.0).epsilon(0.1));  // lossy codec
  CHECK(metric(r[1], "AKD").mean == doctest::Approx(5));
  CHECK(metric(r[1], "AKD").count == 1);
  CHECK(metric(r[1], "MKR").mean == doctest::Approx(0.5));
  CHECK(metric(r[1], "AED").mean == doctest::Approx(2));
  std::string md = tools::results_markdown(r);
  CHECK(md.find("| method | L1 ↓ | PSNR ↑ | SSIM ↑ | AKD ↓ | MKR ↓ | AED ↓ |") != std::string::npos);
  CHECK(md.find("| copy | 0 ± 0 | inf (4 identical) |") != std::string::npos);
  CHECK(tools::evaluate(o) == 0);
  std::string csv = read_file_bytes(d + "/result.csv");
  CHECK(csv.rfind("method,metric,mean,ci95,std,count,infinite\ncopy,L1,0,0,0,4,0\n", 0) == 0);
  CHECK(csv.find("offset,AED,2,") != std::string::npos);
  CHECK(read_file_bytes(d + "/result.md") == md);
}

TEST_CASE("evaluate: foreground IoU on a tiny synthetic dataset") {
  TempDir t;
  SyntheticOptions s;
  s.videos = 4;
  s.frames = 3;
  s.size = 32;
  make_synthetic_dataset(t.path + "/ds", s);
  EvaluateOptions o;
  o.generated = {t.path + "/ds/test"};
  o.synthetic_gt = t.path + "/ds/gt/test";
  o.device = "cpu";
  o.quiet = true;
  std::vector<MethodResult> r = tools::evaluate_methods(o);
  const MetricSummary& iou = metric(r[0], "IoU");
  CHECK(iou.count == 2 * 3);  // 2 test videos
  CHECK(iou.mean > 0.6);      // the ground truth's own frames: soft puppet edges keep it below 1
  // Frames showing only the background have no foreground: IoU 0.
  std::filesystem::create_directories(t.path + "/bg");
  for (const auto& e : std::filesystem::directory_iterator(t.path + "/ds/gt/test")) {
    Tensor bg = read_image(e.path().string() + "/background.png");
    write_strip(t.path + "/bg/" + e.path().filename().string() + ".png", {bg, bg, bg});
  }
  o.generated = {t.path + "/bg"};
  CHECK(metric(tools::evaluate_methods(o)[0], "IoU").mean == 0);
  // --skip-gt-frames 1: generated videos of frames 1.. (a refined-mask reconstruction) against
  // the ground truth without its first frame, for the image metrics and the IoU alike.
  std::filesystem::create_directories(t.path + "/late");
  for (const auto& e : std::filesystem::directory_iterator(t.path + "/ds/test")) {
    VideoData v = read_any_video(e.path().string());
    write_strip(t.path + "/late/" + e.path().filename().string(), {v.frames[1], v.frames[2]});
  }
  o.generated = {t.path + "/late"};
  o.ground_truth = t.path + "/ds/test";
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o), doctest::Contains("has 2 frames"), std::exception);
  o.skip_gt_frames = 1;
  std::vector<MethodResult> late = tools::evaluate_methods(o);
  CHECK(metric(late[0], "L1").mean == 0);
  CHECK(metric(late[0], "IoU").count == 2 * 2);
  o.skip_gt_frames = 3;
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o), doctest::Contains("--skip-gt-frames is 3"), std::exception);
}

TEST_CASE("evaluate: bad inputs are errors naming the files and shapes") {
  TempDir t;
  write_pair(t.path);
  EvaluateOptions o;
  o.device = "cpu";
  o.quiet = true;
  o.generated = {t.path + "/gen"};
  o.ground_truth = t.path + "/nowhere";
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o), doctest::Contains("nowhere does not exist"), Error);
  // A frame more in the generated video.
  write_folder(t.path + "/gen/a", video(0, 4, kOffset));
  o.ground_truth = t.path + "/gt";
  CHECK_THROWS_WITH_AS(
      tools::evaluate_methods(o),
      doctest::Contains(
          ("gen/a has 4 frames of 16x16 but the ground truth " + t.path + "/gt/a.png has 3 frames of 16x16").c_str()),
      Error);
  // A video without a counterpart.
  write_strip(t.path + "/gen/extra.png", video(3, 2, 0));
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o),
                       doctest::Contains(("'extra' (" + t.path + "/gen/extra.png) has no counterpart").c_str()), Error);
  std::filesystem::remove(t.path + "/gen/extra.png");
  std::filesystem::remove(t.path + "/gt/a.png");
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o),
                       doctest::Contains(("'a' (" + t.path + "/gen/a) has no counterpart").c_str()), Error);
  // Frames and videos in one folder; a mask of another size.
  write_image(t.path + "/gen/stray.png", frame(0, 0, 0));
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(o), doctest::Contains("mixes 1 frame images with 2 videos"), Error);
  std::filesystem::remove(t.path + "/gen/stray.png");
  EvaluateOptions counts = o;
  counts.keypoints_generated = {"x.csv", "y.csv"};
  counts.keypoints_gt = "z.csv";
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(counts), doctest::Contains("1 --generated for 2 methods"), Error);
  counts = o;
  counts.ground_truth.clear();
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(counts), doctest::Contains("--generated needs --ground-truth"), Error);
  counts = o;
  counts.keypoints_gt = "z.csv";
  CHECK_THROWS_WITH_AS(tools::evaluate_methods(counts),
                       doctest::Contains("both --keypoints-generated and --keypoints-gt"), Error);
}

}  // TEST_SUITE
