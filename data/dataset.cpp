#include "data/dataset.h"
#include "data/media_limits.h"

#include <sys/stat.h>

#include <stb/stb_image.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "data/image_io.h"
#include "data/video_io.h"
#include "kernels/resample.h"
#include "kernels/shape_ops.h"
#include "tensor/file_util.h"
#include "tensor/philox.h"

namespace anima {
namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string strip_ext(const std::string& name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// [H, W, 3] uint8 -> [3, h, w] float, resized when needed.
Tensor to_frame(const Tensor& image, int64_t h, int64_t w) {
  Tensor chw = image_to_chw(image);
  if (chw.size(1) == h && chw.size(2) == w) return chw;
  InterpParams p;
  p.out_h = h;
  p.out_w = w;
  Tensor batch = raw::view(chw, Shape{1, 3, chw.size(1), chw.size(2)});
  return raw::view(kernels::interpolate(batch, p), Shape{3, h, w});
}

// Frames of a strip image: the width holds W / H frames of size H x H... generally frames of the
// configured aspect: frame width = strip height * frame_w / frame_h.
std::vector<Tensor> split_strip(const Tensor& image, int64_t frame_h, int64_t frame_w, const std::string& what) {
  int64_t h = image.size(0), w = image.size(1);
  int64_t fw = h * frame_w / frame_h;
  ANIMA_CHECK(fw > 0 && w % fw == 0, what, ": strip of ", w, "x", h, " pixels is not a whole number of ", fw, "x", h,
              " frames (frame shape ", frame_h, "x", frame_w, ")");
  check_frame_count(w / fw, what);
  std::vector<Tensor> frames;
  Tensor chw_all = image;  // [h, w, 3]
  for (int64_t k = 0; k < w / fw; ++k) frames.push_back(kernels::slice(chw_all, 1, k * fw, (k + 1) * fw));
  return frames;
}

struct Draws {
  uint64_t seed, stream, next = 0;
  double u() {
    PhiloxWords w = philox_group(seed, stream, next / 4);
    return double(philox_uniform01(w.w[next++ % 4]));
  }
  int64_t below(int64_t n) { return std::min<int64_t>(n - 1, int64_t(u() * double(n))); }
};

// Streams of the dataset's draws: one per (epoch, item), distinct from the permutations'.
uint64_t item_stream(uint64_t epoch, int64_t item) { return (epoch << 32) ^ uint64_t(item) ^ (uint64_t(1) << 62); }

}  // namespace

std::string identity_of(const std::string& name) { return name.substr(0, name.find('#')); }

VideoDataset::VideoDataset(const std::string& root, const std::string& split, DatasetOptions options)
    : options_(options) {
  ANIMA_CHECK(options.frame_h > 0 && options.frame_w > 0 && options.num_repeats >= 1, "dataset: invalid frame shape ",
              options.frame_h, "x", options.frame_w, " or num_repeats ", options.num_repeats);
  const ResizeCropParams& rc = options.resize_crop;
  ANIMA_CHECK(!rc.resize || (rc.ratio_lo > 0 && rc.ratio_lo <= rc.ratio_hi), "dataset: resize ratio [", rc.ratio_lo,
              ", ", rc.ratio_hi, "] must satisfy 0 < low <= high");
  ANIMA_CHECK(rc.crop_h >= 0 && rc.crop_w >= 0 && (rc.crop_h > 0) == (rc.crop_w > 0), "dataset: invalid crop size ",
              rc.crop_h, "x", rc.crop_w);
  std::string dir = root + "/" + split;
  ANIMA_CHECK(is_dir(dir), "dataset: ", dir, " is not a folder (expected the FOMM layout root/train, root/test)");
  for (const std::string& n : sorted_folder_names(dir)) {
    std::string path = dir + "/" + n;
    VideoEntry e{strip_ext(n), path, VideoEntry::Kind::Strip};
    try {
      if (is_dir(path)) {
        e.kind = VideoEntry::Kind::FrameFolder;
        e.name = n;
        int64_t frames = 0;
        for (const std::string& f : sorted_folder_names(path)) frames += is_image_file_name(f);
        ANIMA_CHECK(frames >= 1, path, ": a frame folder without image files");
      } else if (is_video_file_name(n)) {
        e.kind = VideoEntry::Kind::VideoFile;
        ANIMA_CHECK(probe_video(path) >= 1, path, ": no frames");
      } else if (is_image_file_name(n)) {
        std::string bytes = read_file_bytes(path);
        int w = 0, h = 0, c = 0;
        ANIMA_CHECK(
            stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &w, &h, &c), path,
            ": not a readable image (", stbi_failure_reason(), ")");
        // A strip must hold a whole number of frames of the configured aspect (split_strip).
        int64_t fw = int64_t(h) * options_.frame_w / options_.frame_h;
        ANIMA_CHECK(fw > 0 && w % fw == 0, path, ": a strip of ", w, "x", h, " pixels is not a whole number of ", fw,
                    "x", h, " frames");
      } else {
        continue;  // not a video: ignored silently (e.g. a README)
      }
      videos_.push_back(e);
    } catch (const std::exception& err) {
      std::fprintf(stderr, "warning: skipping unreadable video %s: %s\n", path.c_str(), err.what());
      ++skipped_;
    }
  }
  ANIMA_CHECK(!videos_.empty(), "dataset: no readable video in ", dir, " (", skipped_, " skipped)");
  std::map<std::string, std::vector<int64_t>> ids;
  for (size_t i = 0; i < videos_.size(); ++i) ids[identity_of(videos_[i].name)].push_back(int64_t(i));
  for (auto& [id, list] : ids) identities_.push_back(list);
}

int64_t VideoDataset::epoch_length() const {
  return (options_.id_sampling ? int64_t(identities_.size()) : size()) * options_.num_repeats;
}

Tensor VideoDataset::load_video(int64_t i) const {
  ANIMA_CHECK(i >= 0 && i < size(), "dataset: video index ", i, " out of range (", size(), " videos)");
  const VideoEntry& e = videos_[size_t(i)];
  std::vector<Tensor> frames;
  if (e.kind == VideoEntry::Kind::FrameFolder) {
    for (const std::string& f : sorted_folder_names(e.path))
      if (is_image_file_name(f))
        frames.push_back(to_frame(read_image(e.path + "/" + f), options_.frame_h, options_.frame_w));
  } else if (e.kind == VideoEntry::Kind::Strip) {
    for (const Tensor& f : split_strip(read_image(e.path), options_.frame_h, options_.frame_w, e.path))
      frames.push_back(to_frame(f, options_.frame_h, options_.frame_w));
  } else {
    for (const Tensor& f : read_video(e.path).frames) frames.push_back(to_frame(f, options_.frame_h, options_.frame_w));
  }
  ANIMA_CHECK(!frames.empty(), e.path, ": no frames");
  std::vector<Tensor> batch;
  for (Tensor& f : frames) batch.push_back(raw::view(f, Shape{1, 3, options_.frame_h, options_.frame_w}));
  return kernels::concat(batch, 0);
}

namespace {
std::vector<std::string> folder_frame_files(const VideoEntry& e) {
  std::vector<std::string> files;
  for (const std::string& f : sorted_folder_names(e.path))
    if (is_image_file_name(f)) files.push_back(f);
  return files;
}
}  // namespace

int64_t VideoDataset::frame_count_without_decoding(int64_t i) const {
  const VideoEntry& e = videos_.at(size_t(i));
  if (e.kind != VideoEntry::Kind::FrameFolder) return -1;
  int64_t n = int64_t(folder_frame_files(e).size());
  ANIMA_CHECK(n > 0, e.path, ": no frames");
  return n;
}

Tensor VideoDataset::load_frames(int64_t i, const std::vector<int64_t>& indices) const {
  const VideoEntry& e = videos_.at(size_t(i));
  std::vector<Tensor> out;
  if (e.kind == VideoEntry::Kind::FrameFolder) {
    std::vector<std::string> files = folder_frame_files(e);
    for (int64_t k : indices) {
      ANIMA_CHECK(k >= 0 && k < int64_t(files.size()), e.path, ": frame ", k, " of ", files.size());
      out.push_back(raw::view(to_frame(read_image(e.path + "/" + files[size_t(k)]), options_.frame_h, options_.frame_w),
                              Shape{1, 3, options_.frame_h, options_.frame_w}));
    }
    return kernels::concat(out, 0);
  }
  Tensor all = load_video(i);
  for (int64_t k : indices) {
    ANIMA_CHECK(k >= 0 && k < all.size(0), e.path, ": frame ", k, " of ", all.size(0));
    out.push_back(kernels::slice(all, 0, k, k + 1));
  }
  return kernels::concat(out, 0);
}

std::vector<int64_t> VideoDataset::epoch_order(uint64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(epoch_length()));
  for (size_t k = 0; k < order.size(); ++k) order[k] = int64_t(k);
  Draws d{options_.seed, (epoch << 32) | 0x5EEDu};
  for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[size_t(d.below(int64_t(k)))]);
  return order;
}

VideoDataset::Pair VideoDataset::training_pair(uint64_t epoch, int64_t item) const {
  Draws d{options_.seed, item_stream(epoch, item)};
  int64_t n = options_.id_sampling ? int64_t(identities_.size()) : size();
  int64_t slot = item % n;
  int64_t video = options_.id_sampling
                      ? identities_[size_t(slot)][size_t(d.below(int64_t(identities_[size_t(slot)].size())))]
                      : slot;
  // A frame folder's two frames are read alone; other videos are decoded whole.
  Tensor frames;
  int64_t t = frame_count_without_decoding(video);
  if (t < 0) {
    frames = load_video(video);
    t = frames.size(0);
  }
  // Two distinct frames (FOMM: np.random.choice(num_frames, replace=False, size=2)).
  int64_t a = d.below(t), b = t > 1 ? d.below(t - 1) : 0;
  if (t > 1 && b >= a) ++b;
  Pair p;
  p.video = video;
  p.source_frame = a;
  p.driving_frame = b;
  if (options_.time_flip && d.u() < 0.5) std::swap(p.source_frame, p.driving_frame);
  Tensor pair = frames.defined() ? kernels::concat({kernels::slice(frames, 0, p.source_frame, p.source_frame + 1),
                                                    kernels::slice(frames, 0, p.driving_frame, p.driving_frame + 1)},
                                                   0)
                                 : load_frames(video, {p.source_frame, p.driving_frame});
  if (options_.horizontal_flip && d.u() < 0.5) pair = kernels::flip(pair, 3);
  const ResizeCropParams& rc = options_.resize_crop;
  if (rc.resize || rc.crop_h > 0) {
    // One geometry for both frames, from a stream of its own (the other draws stay as they were).
    Draws g{options_.seed, item_stream(epoch, item) ^ 0x5CA1Eu};
    double u_ratio = g.u(), u_y = g.u(), u_x = g.u();
    pair = apply_resize_crop(pair, draw_resize_crop(options_.frame_h, options_.frame_w, rc, u_ratio, u_y, u_x));
    if (pair.size(2) != options_.frame_h || pair.size(3) != options_.frame_w) {
      InterpParams ip;
      ip.out_h = options_.frame_h;
      ip.out_w = options_.frame_w;
      pair = kernels::interpolate(pair, ip);
    }
  }
  if (options_.brightness > 0 || options_.contrast > 0 || options_.saturation > 0 || options_.hue > 0) {
    // The same jitter for both frames of the pair, as FOMM applies one transform to the clip.
    Generator g(options_.seed, item_stream(epoch, item) ^ 0xC0102u);
    kernels::ColorJitterParams cj =
        kernels::draw_color_jitter(1, options_.brightness, options_.contrast, options_.saturation, options_.hue, g);
    cj.order.push_back(cj.order[0]);
    cj.factor.push_back(cj.factor[0]);
    pair = kernels::color_jitter(pair, cj);
  }
  p.source = raw::view(kernels::slice(pair, 0, 0, 1), Shape{3, options_.frame_h, options_.frame_w});
  p.driving = raw::view(kernels::slice(pair, 0, 1, 2), Shape{3, options_.frame_h, options_.frame_w});
  return p;
}

std::vector<std::pair<int64_t, int64_t>> animation_pairs_from_csv(const VideoDataset& ds, const std::string& csv_path) {
  std::string text = read_file_bytes(csv_path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  ANIMA_CHECK(!rows.empty(), csv_path, ": empty pairs file");
  int src = -1, drv = -1;
  for (size_t c = 0; c < rows[0].size(); ++c) {
    if (rows[0][c] == "source") src = int(c);
    if (rows[0][c] == "driving") drv = int(c);
  }
  ANIMA_CHECK(src >= 0 && drv >= 0, csv_path, ": the header must name the columns 'source' and 'driving'");
  std::map<std::string, int64_t> index;
  for (int64_t i = 0; i < ds.size(); ++i) {
    index[ds.videos()[size_t(i)].name] = i;
    index[ds.videos()[size_t(i)].path.substr(ds.videos()[size_t(i)].path.rfind('/') + 1)] = i;
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t r = 1; r < rows.size(); ++r) {
    ANIMA_CHECK(int(rows[r].size()) > std::max(src, drv), csv_path, ": row ", r + 1, " has too few columns");
    auto find = [&](const std::string& name) {
      auto it = index.find(name);
      ANIMA_CHECK(it != index.end(), csv_path, ": row ", r + 1, ": no video named '", name, "' in the dataset");
      return it->second;
    };
    pairs.emplace_back(find(rows[r][size_t(src)]), find(rows[r][size_t(drv)]));
  }
  return pairs;
}

std::vector<std::pair<int64_t, int64_t>> random_animation_pairs(const VideoDataset& ds, int64_t count, uint64_t seed) {
  ANIMA_CHECK(count >= 0, "random_animation_pairs: negative count");
  Draws d{seed, 0xA17Au};
  std::vector<std::pair<int64_t, int64_t>> pairs;
  bool several_ids = false;
  for (const auto& v : ds.videos())
    several_ids = several_ids || identity_of(v.name) != identity_of(ds.videos()[0].name);
  for (int64_t k = 0; k < count; ++k) {
    int64_t s = d.below(ds.size()), t = d.below(ds.size());
    for (int tries = 0; several_ids && tries < 1000 &&
                        identity_of(ds.videos()[size_t(s)].name) == identity_of(ds.videos()[size_t(t)].name);
         ++tries)
      t = d.below(ds.size());
    pairs.emplace_back(s, t);
  }
  return pairs;
}

}  // namespace anima
