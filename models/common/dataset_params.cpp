#include "models/common/dataset_params.h"

namespace anima {

void read_dataset_params(ConfigSection& d, DatasetParams& out) {
  d.get("root_dir", out.root_dir);
  d.get("image_shape", out.frame_shape);  // the older official configs' name
  d.get("frame_shape", out.frame_shape);
  d.get("id_sampling", out.id_sampling);
  d.get("pairs_list", out.pairs_list);
  ConfigSection aug = d.sub("augmentation_params");
  ConfigSection flip = aug.sub("flip_param");
  flip.get("horizontal_flip", out.horizontal_flip);
  flip.get("time_flip", out.time_flip);
  ConfigSection jitter = aug.sub("jitter_param");
  jitter.get("brightness", out.brightness);
  jitter.get("contrast", out.contrast);
  jitter.get("saturation", out.saturation);
  jitter.get("hue", out.hue);
  ConfigSection resize = aug.sub("resize_param");
  resize.get("ratio", out.resize_ratio);
  ConfigSection crop = aug.sub("crop_param");
  crop.get_size("size", out.crop_size);
}

DatasetOptions training_dataset_options(const DatasetParams& p, int64_t num_repeats, uint64_t seed) {
  DatasetOptions d;
  d.frame_h = p.frame_shape[0];
  d.frame_w = p.frame_shape[1];
  d.id_sampling = p.id_sampling;
  d.num_repeats = num_repeats;
  d.horizontal_flip = p.horizontal_flip;
  d.time_flip = p.time_flip;
  d.brightness = p.brightness;
  d.contrast = p.contrast;
  d.saturation = p.saturation;
  d.hue = p.hue;
  if (!p.resize_ratio.empty()) {
    d.resize_crop.resize = true;
    d.resize_crop.ratio_lo = p.resize_ratio[0];
    d.resize_crop.ratio_hi = p.resize_ratio[1];
  }
  if (!p.crop_size.empty()) {
    d.resize_crop.crop_h = p.crop_size[0];
    d.resize_crop.crop_w = p.crop_size[1];
  }
  d.seed = seed;
  return d;
}

}  // namespace anima
