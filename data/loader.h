// Batches of training pairs built by worker threads ahead of the training loop.
// Step s of the run is batch (s mod batches_per_epoch) of epoch (s / batches_per_epoch); its items
// come from the dataset's seeded epoch order, and each item's frames and augmentations depend only
// on (seed, epoch, item). So the batches do not depend on the number of workers or their timing.
// Workers fill a bounded window of `prefetch` batches ahead of the consumer. The last incomplete
// batch of an epoch is dropped (as FOMM's DataLoader with drop_last). For a GPU, batches are
// assembled in pinned host memory and copied asynchronously on the default stream.
// An item whose video cannot be read (a truncated image, a broken frame, a strip of the wrong
// width) is replaced by the next item of the epoch's order that can, and named in the batch's
// `skipped` (the run logs it); only when no video of the dataset can be read does next() throw.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace anima {

struct TrainBatch {
  Tensor source, driving;            // float32 [B, 3, H, W] on the loader's device
  Tensor host_source, host_driving;  // the pinned staging copies (kept alive with the batch)
  std::vector<int64_t> videos;
  int64_t step = 0, epoch = 0;
  std::vector<std::string> skipped;  // the unreadable items replaced in this batch: "video: reason"
};

class TrainLoader {
 public:
  TrainLoader(const VideoDataset& dataset, int64_t batch_size, int workers, int prefetch = 4,
              Device device = Device::cpu(), int64_t first_step = 0);
  ~TrainLoader();
  TrainLoader(const TrainLoader&) = delete;
  TrainLoader& operator=(const TrainLoader&) = delete;

  TrainBatch next();  // the batch of the next step, in order
  int64_t batches_per_epoch() const { return per_epoch_; }

 private:
  TrainBatch build(int64_t step) const;
  void work();

  const VideoDataset& ds_;
  int64_t batch_, per_epoch_;
  int prefetch_;
  Device device_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<int64_t, TrainBatch> ready_;
  std::string error_;
  int64_t next_claim_, next_take_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace anima
