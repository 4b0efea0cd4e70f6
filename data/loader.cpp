#include "data/loader.h"

#include "kernels/shape_ops.h"

namespace anima {

TrainLoader::TrainLoader(const VideoDataset& dataset, int64_t batch_size, int workers, int prefetch, Device device,
                         int64_t first_step)
    : ds_(dataset),
      batch_(batch_size),
      prefetch_(prefetch),
      device_(device),
      next_claim_(first_step),
      next_take_(first_step) {
  ANIMA_CHECK(batch_size >= 1 && workers >= 1 && prefetch >= 1, "TrainLoader: need batch size, workers and ",
              "prefetch of at least 1, got ", batch_size, ", ", workers, ", ", prefetch);
  per_epoch_ = dataset.epoch_length() / batch_size;
  ANIMA_CHECK(per_epoch_ >= 1, "TrainLoader: an epoch has ", dataset.epoch_length(), " items, fewer than one batch of ",
              batch_size, " (raise num_repeats or lower the batch size)");
  for (int w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
}

TrainLoader::~TrainLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

TrainBatch TrainLoader::build(int64_t step) const {
  TrainBatch b;
  b.step = step;
  b.epoch = step / per_epoch_;
  int64_t within = step % per_epoch_;
  std::vector<int64_t> order = ds_.epoch_order(uint64_t(b.epoch));
  std::vector<Tensor> src, drv;
  for (int64_t k = 0; k < batch_; ++k) {
    int64_t item = order[size_t(within * batch_ + k)];
    // An unreadable video gives way to the next item (the same every run: it depends only on
    // which videos are unreadable). The dataset's size bounds the tries.
    VideoDataset::Pair p;
    bool found = false;
    std::string last_error;
    for (int64_t attempt = 0; attempt < ds_.size() && !found; ++attempt) {
      try {
        p = ds_.training_pair(uint64_t(b.epoch), item + attempt);
        found = true;
      } catch (const std::exception& e) {
        last_error = e.what();
        b.skipped.push_back(last_error);
      }
    }
    ANIMA_CHECK(found, "data loader: none of the dataset's ", ds_.size(), " videos could be read; the last error: ",
                last_error);
    Shape one{1, p.source.size(0), p.source.size(1), p.source.size(2)};
    src.push_back(raw::view(p.source, one));
    drv.push_back(raw::view(p.driving, one));
    b.videos.push_back(p.video);
  }
  b.source = kernels::concat(src, 0);
  b.driving = kernels::concat(drv, 0);
  if (!device_.is_cpu()) {  // staged in pinned memory for an asynchronous copy in next()
    b.host_source = Tensor::empty_pinned(b.source.shape());
    b.host_driving = Tensor::empty_pinned(b.driving.shape());
    raw::copy_into(b.host_source, b.source);
    raw::copy_into(b.host_driving, b.driving);
  }
  return b;
}

void TrainLoader::work() {
  while (true) {
    int64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || next_claim_ < next_take_ + prefetch_; });
      if (stop_) return;
      step = next_claim_++;
    }
    TrainBatch b;
    std::string err;
    try {
      b = build(step);
    } catch (const std::exception& e) {
      err = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!err.empty() && error_.empty()) error_ = "data loader, step " + std::to_string(step) + ": " + err;
      ready_[step] = std::move(b);
    }
    cv_.notify_all();
  }
}

TrainBatch TrainLoader::next() {
  TrainBatch b;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !error_.empty() || ready_.count(next_take_) > 0; });
    ANIMA_CHECK(error_.empty(), error_);
    b = std::move(ready_[next_take_]);
    ready_.erase(next_take_);
    ++next_take_;
  }
  cv_.notify_all();
  if (!device_.is_cpu()) {
    b.source = raw::to_device(b.host_source, device_);
    b.driving = raw::to_device(b.host_driving, device_);
  }
  return b;
}

}  // namespace anima
