#include "tools/evaluate.h"

#include <stb/stb_image.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "data/image_io.h"
#include "data/metrics_io.h"
#include "data/video_io.h"
#include "kernels/metrics.h"
#include "kernels/reduce.h"
#include "kernels/shape_ops.h"
#include "tensor/error.h"
#include "tensor/file_util.h"
#include "tensor/runtime.h"

namespace anima::tools {
namespace {

namespace fs = std::filesystem;

struct VideoRef {
  std::string name, path;
  enum class Kind { File, Strip, Frames } kind;
};

bool is_strip_image(const std::string& path) {
  int w = 0, h = 0, c = 0;
  ANIMA_CHECK(stbi_info(path.c_str(), &w, &h, &c), path, ": not a readable image (", stbi_failure_reason(), ")");
  return is_square_strip(h, w);
}

// The videos a path names (see evaluate.h for the rules).
std::vector<VideoRef> list_videos(const std::string& path, const std::string& what) {
  ANIMA_CHECK(fs::exists(path), what, ": ", path, " does not exist");
  fs::path p(path);
  if (!fs::is_directory(p)) {
    ANIMA_CHECK(is_video_file_name(path) || is_image_file_name(path), what, ": ", path,
                " is neither a video file, an image strip nor a folder");
    return {{p.stem().string(), path, is_video_file_name(path) ? VideoRef::Kind::File : VideoRef::Kind::Strip}};
  }
  std::vector<VideoRef> videos;
  int64_t frames = 0;
  for (const std::string& name : sorted_folder_names(path)) {
    fs::path entry = p / name;
    if (fs::is_directory(entry))
      videos.push_back({name, entry.string(), VideoRef::Kind::Frames});
    else if (is_video_file_name(name))
      videos.push_back({entry.stem().string(), entry.string(), VideoRef::Kind::File});
    else if (is_image_file_name(name) && is_strip_image(entry.string()))
      videos.push_back({entry.stem().string(), entry.string(), VideoRef::Kind::Strip});
    else if (is_image_file_name(name))
      ++frames;
  }
  if (frames > 0) {
    ANIMA_CHECK(videos.empty(), what, ": ", path, " mixes ", frames, " frame images with ", videos.size(),
                " videos (a folder is either one video's frames or a folder of videos)");
    std::string name = p.filename().string();
    if (name.empty()) name = p.parent_path().filename().string();  // "dir/"
    return {{name, path, VideoRef::Kind::Frames}};
  }
  ANIMA_CHECK(!videos.empty(), what, ": no videos or frames in ", path);
  return videos;
}

Tensor stack_frames(const std::vector<Tensor>& images, const std::string& what) {
  ANIMA_CHECK(!images.empty(), what, ": no frames");
  std::vector<Tensor> chw;
  for (size_t i = 0; i < images.size(); ++i) {
    ANIMA_CHECK(images[i].shape() == images[0].shape(), what, ": frame ", i, " is ", images[i].shape().str(),
                " but frame 0 is ", images[0].shape().str(), " ([H, W, 3])");
    Tensor t = image_to_chw(images[i]);
    chw.push_back(raw::view(t, Shape{1, t.size(0), t.size(1), t.size(2)}));
  }
  return kernels::concat(chw, 0);
}

// float32 [T, 3, H, W] in [0, 1] on the CPU.
Tensor load_frames(const VideoRef& v) { return stack_frames(read_any_video(v.path).frames, v.path); }

// The ground truth without its first `skip` frames (--skip-gt-frames).
Tensor drop_first(const Tensor& frames, int64_t skip, const std::string& path) {
  if (skip == 0) return frames;
  ANIMA_CHECK(frames.size(0) > skip, path, ": ", frames.size(0), " frames, but --skip-gt-frames is ", skip);
  return kernels::slice(frames, 0, skip, frames.size(0));
}

std::string frames_str(const Tensor& t) {
  return std::to_string(t.size(0)) + " frames of " + std::to_string(t.size(3)) + "x" + std::to_string(t.size(2));
}

// Pairs (generated index, ground-truth index) by name; one single item on each side pairs anyway.
template <class Item>
std::vector<std::pair<size_t, size_t>> match_by_name(const std::vector<Item>& gen, const std::vector<Item>& gt,
                                                     const std::string& gen_root, const std::string& gt_root) {
  if (gen.size() == 1 && gt.size() == 1) return {{0, 0}};
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < gen.size(); ++i) index[gen[i].name] = i;
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t j = 0; j < gt.size(); ++j) {
    auto it = index.find(gt[j].name);
    ANIMA_CHECK(it != index.end(), "'", gt[j].name, "' (", gt[j].path, ") has no counterpart in ", gen_root);
    pairs.push_back({it->second, j});
    index.erase(it);
  }
  ANIMA_CHECK(index.empty(), "'", index.begin()->first, "' (", gen[index.begin()->second].path,
              ") has no counterpart in ", gt_root);
  return pairs;
}

struct TableRef {
  std::string name, path;
};

std::vector<TableRef> list_tables(const std::string& path, const std::string& what) {
  ANIMA_CHECK(fs::exists(path), what, ": ", path, " does not exist");
  if (!fs::is_directory(path)) return {{fs::path(path).stem().string(), path}};
  std::vector<TableRef> out;
  for (const std::string& name : sorted_folder_names(path))
    if (lower_extension(name) == "csv") out.push_back({fs::path(name).stem().string(), path + "/" + name});
  ANIMA_CHECK(!out.empty(), what, ": no .csv files in ", path);
  return out;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<float> v = t.to(Device::cpu()).to_vector<float>();
  return std::vector<double>(v.begin(), v.end());
}

// Per-frame values of every metric, in the order metrics first appear.
struct Collected {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> values;
  void add(const std::string& metric, const std::vector<double>& v) {
    if (!values.count(metric)) order.push_back(metric);
    std::vector<double>& dst = values[metric];
    dst.insert(dst.end(), v.begin(), v.end());
  }
};

// [T, 1, H, W] masks from [T, 3, H, W] frames (grey stored as RGB: the channel mean).
Tensor to_masks(const Tensor& frames) { return kernels::mean(frames, {1}, true); }

void image_metrics(const Tensor& gen, const Tensor& gt, const Tensor& masks, Device dev, int64_t batch, Collected& c) {
  using kernels::MetricRegion;
  struct Region {
    const char* suffix;
    MetricRegion region;
  };
  std::vector<Region> regions{{"", MetricRegion::All}};
  if (masks.defined()) {
    regions.push_back({" salient", MetricRegion::Salient});
    regions.push_back({" non-salient", MetricRegion::NonSalient});
  }
  for (int64_t s = 0; s < gen.size(0); s += batch) {
    int64_t e = std::min(gen.size(0), s + batch);
    Tensor a = kernels::slice(gen, 0, s, e).to(dev), b = kernels::slice(gt, 0, s, e).to(dev);
    Tensor m = masks.defined() ? kernels::slice(masks, 0, s, e).to(dev) : Tensor();
    for (const Region& r : regions) {
      std::string x = r.suffix;
      c.add("L1" + x, to_doubles(kernels::l1_per_image(a, b, m, r.region)));
      c.add("PSNR" + x, to_doubles(kernels::psnr_from_mse(kernels::mse_per_image(a, b, m, r.region))));
      c.add("SSIM" + x, to_doubles(kernels::ssim_per_image(a, b, m, r.region)));
    }
  }
}

void foreground_iou(const VideoRef& video, const Tensor& gen, const std::string& gt_root, float threshold, Device dev,
                    int64_t batch, int64_t skip, Collected& c) {
  std::string dir = gt_root + "/" + video.name;
  ANIMA_CHECK(fs::is_directory(dir), "--synthetic-gt: no folder ", dir, " for the generated video ", video.path);
  Tensor bg = image_to_chw(read_image(dir + "/background.png"));
  Tensor masks = drop_first(to_masks(load_frames({video.name, dir + "/masks.png", VideoRef::Kind::Strip})), skip,
                            dir + "/masks.png");
  ANIMA_CHECK(masks.size(0) == gen.size(0) && masks.size(2) == gen.size(2) && masks.size(3) == gen.size(3),
              "generated video ", video.path, " has ", frames_str(gen), " but ", dir, "/masks.png has ",
              frames_str(masks));
  ANIMA_CHECK(bg.size(1) == gen.size(2) && bg.size(2) == gen.size(3), dir, "/background.png is ", bg.size(2), "x",
              bg.size(1), " but the generated frames of ", video.path, " are ", gen.size(3), "x", gen.size(2));
  bg = bg.to(dev);
  for (int64_t s = 0; s < gen.size(0); s += batch) {
    int64_t e = std::min(gen.size(0), s + batch);
    Tensor fg = kernels::segment_foreground(kernels::slice(gen, 0, s, e).to(dev), bg, threshold);
    c.add("IoU", to_doubles(kernels::mask_iou(fg, kernels::slice(masks, 0, s, e).to(dev))));
  }
}

void table_metrics(const std::string& gen_path, const std::string& gt_path, const std::string& what, Collected& c) {
  std::vector<TableRef> gen = list_tables(gen_path, what + " (generated)");
  std::vector<TableRef> gt = list_tables(gt_path, what + " (ground truth)");
  for (auto [i, j] : match_by_name(gen, gt, gen_path, gt_path)) {
    FrameTable a = read_frame_table(gen[i].path, what), b = read_frame_table(gt[j].path, what);
    if (what == "keypoints") {
      KeypointScores s = compare_keypoints(a, b);
      c.add("AKD", s.akd);
      c.add("MKR", s.mkr);
    } else {
      c.add("AED", compare_embeddings(a, b));
    }
  }
}

bool lower_is_better(const std::string& metric) {
  for (const char* m : {"L1", "AKD", "MKR", "AED"})
    if (metric.rfind(m, 0) == 0) return true;
  return false;
}

std::string format_value(double v, const char* spec) {
  if (std::isinf(v)) return "inf";
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

std::string mean_cell(const MetricSummary& s) {
  std::string m = format_value(s.mean, "%.4g");
  if (s.infinite > 0) m += " (" + std::to_string(s.infinite) + " identical)";
  return m;
}

std::string method_name(const EvaluateOptions& o, size_t k) {
  if (k < o.names.size()) return o.names[k];
  for (const std::vector<std::string>* list : {&o.generated, &o.keypoints_generated, &o.embeddings_generated})
    if (k < list->size()) {
      fs::path p((*list)[k]);
      std::string stem = p.stem().string();
      return stem.empty() ? p.parent_path().filename().string() : stem;
    }
  return "method " + std::to_string(k + 1);
}

}  // namespace

MetricSummary summarize(const std::string& metric, const std::vector<double>& values) {
  MetricSummary s;
  s.metric = metric;
  s.count = int64_t(values.size());
  for (double v : values) s.infinite += std::isinf(v) ? 1 : 0;
  if (s.count == 0) {
    s.mean = s.ci95 = s.stddev = NAN;
    return s;
  }
  if (s.infinite > 0) {
    s.mean = INFINITY;
    s.ci95 = s.stddev = NAN;
    return s;
  }
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / double(s.count);
  if (s.count < 2) {
    s.ci95 = s.stddev = NAN;
    return s;
  }
  double ss = 0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(ss / double(s.count - 1));
  s.ci95 = 1.96 * s.stddev / std::sqrt(double(s.count));
  return s;
}

std::vector<MethodResult> evaluate_methods(const EvaluateOptions& o) {
  size_t methods = std::max({o.generated.size(), o.keypoints_generated.size(), o.embeddings_generated.size()});
  ANIMA_CHECK(methods > 0,
              "evaluate: nothing to evaluate (give --generated, --keypoints-generated or "
              "--embeddings-generated)");
  auto check_count = [&](const std::vector<std::string>& list, const char* flag) {
    ANIMA_CHECK(list.empty() || list.size() == methods, "evaluate: ", list.size(), " ", flag, " for ", methods,
                " methods (give one per method, in the same order)");
  };
  check_count(o.generated, "--generated");
  check_count(o.keypoints_generated, "--keypoints-generated");
  check_count(o.embeddings_generated, "--embeddings-generated");
  ANIMA_CHECK(o.names.empty() || o.names.size() == methods, "evaluate: ", o.names.size(), " --name for ", methods,
              " methods");
  ANIMA_CHECK(o.generated.empty() || !o.ground_truth.empty() || !o.synthetic_gt.empty(),
              "evaluate: --generated needs --ground-truth (or --synthetic-gt for the IoU alone)");
  ANIMA_CHECK(o.masks.empty() || !o.ground_truth.empty(), "evaluate: --masks needs --ground-truth");
  ANIMA_CHECK(o.keypoints_generated.empty() == o.keypoints_gt.empty(),
              "evaluate: give both --keypoints-generated and --keypoints-gt, or neither");
  ANIMA_CHECK(o.embeddings_generated.empty() == o.embeddings_gt.empty(),
              "evaluate: give both --embeddings-generated and --embeddings-gt, or neither");
  ANIMA_CHECK(o.batch > 0, "evaluate: --batch must be positive");
  Device dev = resolve_device(o.device, "evaluate");

  std::vector<VideoRef> gt, masks;
  std::vector<std::pair<size_t, size_t>> mask_of;  // (mask index, ground-truth index)
  if (!o.ground_truth.empty() && !o.generated.empty()) {
    gt = list_videos(o.ground_truth, "--ground-truth");
    if (!o.masks.empty()) {
      masks = list_videos(o.masks, "--masks");
      mask_of = match_by_name(masks, gt, o.masks, o.ground_truth);
    }
  }
  bool progress = !o.quiet && ::isatty(2);
  std::vector<MethodResult> results;
  for (size_t k = 0; k < methods; ++k) {
    Collected c;
    if (!o.generated.empty()) {
      std::vector<VideoRef> gen = list_videos(o.generated[k], "--generated");
      std::vector<std::pair<size_t, size_t>> pairs;
      if (!gt.empty()) {
        pairs = match_by_name(gen, gt, o.generated[k], o.ground_truth);
      } else {
        for (size_t i = 0; i < gen.size(); ++i) pairs.push_back({i, SIZE_MAX});
      }
      for (size_t p = 0; p < pairs.size(); ++p) {
        const VideoRef& g = gen[pairs[p].first];
        if (progress)
          std::fprintf(stderr, "\revaluate: %s: video %zu/%zu %-40.40s", method_name(o, k).c_str(), p + 1, pairs.size(),
                       g.name.c_str());
        Tensor a = load_frames(g);
        if (pairs[p].second != SIZE_MAX) {
          const VideoRef& t = gt[pairs[p].second];
          Tensor b = drop_first(load_frames(t), o.skip_gt_frames, t.path);
          ANIMA_CHECK(a.shape() == b.shape(), "generated video ", g.path, " has ", frames_str(a),
                      " but the ground truth ", t.path, " has ", frames_str(b));
          Tensor m;
          for (auto [mi, gi] : mask_of)
            if (gi == pairs[p].second) {
              m = drop_first(to_masks(load_frames(masks[mi])), o.skip_gt_frames, masks[mi].path);
              ANIMA_CHECK(m.size(0) == a.size(0) && m.size(2) == a.size(2) && m.size(3) == a.size(3), "mask video ",
                          masks[mi].path, " has ", frames_str(m), " but the ground truth ", t.path, " has ",
                          frames_str(b));
            }
          image_metrics(a, b, m, dev, o.batch, c);
        }
        if (!o.synthetic_gt.empty())
          foreground_iou(g, a, o.synthetic_gt, o.fg_threshold, dev, o.batch, o.skip_gt_frames, c);
      }
      if (progress) std::fprintf(stderr, "\n");
    }
    if (!o.keypoints_generated.empty()) table_metrics(o.keypoints_generated[k], o.keypoints_gt, "keypoints", c);
    if (!o.embeddings_generated.empty()) table_metrics(o.embeddings_generated[k], o.embeddings_gt, "embeddings", c);
    MethodResult r{method_name(o, k), {}};
    for (const std::string& m : c.order) r.metrics.push_back(summarize(m, c.values[m]));
    results.push_back(r);
  }
  return results;
}

std::string results_markdown(const std::vector<MethodResult>& results) {
  std::ostringstream md;
  auto header = [](const std::string& metric) { return metric + (lower_is_better(metric) ? " ↓" : " ↑"); };
  if (results.size() == 1) {
    md << "| metric (" << results[0].name << ") | mean | 95% CI ± | frames |\n|---|---|---|---|\n";
    for (const MetricSummary& s : results[0].metrics)
      md << "| " << header(s.metric) << " | " << mean_cell(s) << " | " << format_value(s.ci95, "%.1g") << " | "
         << s.count << " |\n";
    return md.str();
  }
  std::vector<std::string> columns;
  for (const MethodResult& r : results)
    for (const MetricSummary& s : r.metrics)
      if (std::find(columns.begin(), columns.end(), s.metric) == columns.end()) columns.push_back(s.metric);
  md << "| method |";
  for (const std::string& c : columns) md << " " << header(c) << " |";
  md << "\n|---|";
  for (size_t i = 0; i < columns.size(); ++i) md << "---|";
  md << "\n";
  for (const MethodResult& r : results) {
    md << "| " << r.name << " |";
    for (const std::string& c : columns) {
      auto it = std::find_if(r.metrics.begin(), r.metrics.end(), [&](const MetricSummary& s) { return s.metric == c; });
      if (it == r.metrics.end())
        md << " — |";
      else
        md << " " << mean_cell(*it) << (std::isnan(it->ci95) ? "" : " ± " + format_value(it->ci95, "%.1g")) << " |";
    }
    md << "\n";
  }
  return md.str();
}

std::string results_csv(const std::vector<MethodResult>& results) {
  std::ostringstream csv;
  csv << "method,metric,mean,ci95,std,count,infinite\n";
  csv.precision(9);
  for (const MethodResult& r : results)
    for (const MetricSummary& s : r.metrics)
      csv << r.name << "," << s.metric << "," << s.mean << "," << s.ci95 << "," << s.stddev << "," << s.count << ","
          << s.infinite << "\n";
  return csv.str();
}

int evaluate(const EvaluateOptions& o) {
  std::vector<MethodResult> results = evaluate_methods(o);
  std::string md = results_markdown(results);
  std::printf("%s", md.c_str());
  std::printf("mean and 95%% confidence interval over frames (normal approximation); device %s\n",
              resolve_device(o.device, "evaluate").str().c_str());
  if (!o.out.empty()) {
    write_file_atomic(o.out + ".csv", results_csv(results));
    write_file_atomic(o.out + ".md", md);
    std::printf("evaluate: wrote %s.csv and %s.md\n", o.out.c_str(), o.out.c_str());
  }
  return 0;
}

}  // namespace anima::tools
