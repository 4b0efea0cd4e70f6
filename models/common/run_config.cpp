#include "models/common/run_config.h"

namespace anima {

void read_train_schedule(ConfigSection& t, TrainSchedule& out) {
  t.get("num_epochs", out.num_epochs);
  t.get("num_repeats", out.num_repeats);
  t.get("epoch_milestones", out.epoch_milestones);
  t.get("batch_size", out.batch_size);
  t.get("checkpoint_freq", out.checkpoint_freq);
  t.get("deterministic", out.deterministic);
}

void check_run_config(const RunConfig& c, const TrainSchedule& s, const std::string& what) {
  ANIMA_CHECK(c.dataset.frame_shape.size() == 3 && c.dataset.frame_shape[0] > 0 && c.dataset.frame_shape[1] > 0, what,
              ": dataset_params.frame_shape must be [H, W, C]");
  ANIMA_CHECK(s.batch_size > 0 && s.num_epochs > 0 && s.num_repeats > 0 && s.checkpoint_freq > 0, what,
              ": train_params batch_size, num_epochs, num_repeats and checkpoint_freq must be positive");
  ANIMA_CHECK(s.batch_size <= 65536 && s.num_epochs <= 1000000 && s.num_repeats <= 100000, what,
              ": train_params: batch_size at most 65536, num_epochs at most 1000000, num_repeats at most 100000");
  for (int m : s.epoch_milestones) ANIMA_CHECK(m >= 0, what, ": train_params.epoch_milestones must be >= 0, got ", m);
}

}  // namespace anima
