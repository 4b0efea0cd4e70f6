// `anima evaluate`: the papers' metrics of generated videos against the ground truth.
//
// Videos. --generated and --ground-truth each name a video file (.mp4, .gif, .mov, .webm, .avi,
// .mkv), a .png/.jpg strip (frames side by side; frames are square, height x height), a folder
// of frame images (sorted by name), or a folder holding such videos (video files, strips, frame
// folders). A folder is a folder of frames when it holds only non-strip images (an image is a
// strip when its width is k >= 2 times its height). Two single videos are compared whatever
// their names; otherwise videos are matched by name (file stem), and a video on one side
// without a partner on the other is an error. Frame counts and sizes must agree exactly.
// --masks: salient masks in the same forms, matched to the ground truth by name, one mask frame
// per frame (grey; colour masks are averaged over channels), values in [0, 1] used as weights.
// Several --generated (one per method) give one table row per method.
//
// Metrics (kernels/metrics.h, data/metrics_io.h), each a per-frame value:
//   L1, PSNR, SSIM                     every frame
//   ... salient / non-salient          with --masks (the PriorityCut paper's M-PSNR, M-SSIM)
//   AKD, MKR                           with --keypoints-generated / --keypoints-gt
//   AED                                with --embeddings-generated / --embeddings-gt
//   IoU                                with --synthetic-gt: the generated frame's foreground
//                                      (colour distance to the known background above
//                                      --fg-threshold) against the ground-truth mask
// Keypoint and embedding paths are a .csv file (single video) or a folder of <video>.csv.
//
// Summary: the mean over all frames of all videos and a 95% confidence interval by the normal
// approximation over frames, mean +- 1.96 s / sqrt(n) (s: sample standard deviation), as the
// papers' tables (their intervals are frame-level). Frames of one video are correlated, so the
// interval is narrower than a video-level one would be. A PSNR of identical frames is +inf; if
// any frame is identical the mean is reported as inf and the number of such frames is given.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace anima::tools {

struct EvaluateOptions {
  std::vector<std::string> generated, names;  // one per method; names default to the paths' stems
  std::string ground_truth, masks;
  std::vector<std::string> keypoints_generated, embeddings_generated;  // one per method
  std::string keypoints_gt, embeddings_gt;
  std::string synthetic_gt;  // gt/<split> of `anima make-dataset`: <video>/{masks.png, background.png}
  std::string out;           // writes out.csv and out.md when set
  std::string device = "auto";
  float fg_threshold = 0.15f;  // Euclidean RGB distance (values in [0, 1]) for the IoU's segmentation
  int64_t batch = 16;          // frames per metric call
  // Drop the first frames of every ground-truth video (and mask video) before comparing: the
  // refined-mask reconstruction drives with every frame but the first (anima reconstruct).
  int64_t skip_gt_frames = 0;
  bool quiet = false;
};

struct MetricSummary {
  std::string metric;
  double mean = 0, ci95 = 0, stddev = 0;
  int64_t count = 0, infinite = 0;  // values, and how many of them are +inf (PSNR of identical frames)
};
MetricSummary summarize(const std::string& metric, const std::vector<double>& values);

struct MethodResult {
  std::string name;
  std::vector<MetricSummary> metrics;
};

// Computes every metric the options ask for (no output files).
std::vector<MethodResult> evaluate_methods(const EvaluateOptions& options);
// The papers' layout: one method -> one row per metric; several -> one row per method.
std::string results_markdown(const std::vector<MethodResult>& results);
// method,metric,mean,ci95,std,count,infinite
std::string results_csv(const std::vector<MethodResult>& results);

int evaluate(const EvaluateOptions& options);

}  // namespace anima::tools
