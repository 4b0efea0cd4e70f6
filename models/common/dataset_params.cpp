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

}  // namespace anima
