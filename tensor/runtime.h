// What compute is available. Never crashes: when the CUDA driver is missing or too old (as on
// machines without a GPU), cuda_available() is false and cuda_status() says why.
#pragma once
#include <string>

#include "tensor/device.h"

namespace anima {

bool built_with_cuda();
bool cuda_available();
// Human-readable reason for cuda_available() being false, or the device description when true.
std::string cuda_status();
// Name, SM count, memory and library versions of the GPU, or "none: <reason>".
std::string device_report();
// Throws a clear error naming `op` if CUDA is not usable.
void require_cuda(const char* op);
// A command's --device: "auto" is the GPU when one is usable, else the CPU; "cuda" without a
// usable GPU is an error naming `what` and the reason.
Device resolve_device(const std::string& name, const char* what);
// Blocks until all queued GPU work is done (no-op without CUDA).
void cuda_synchronize();

// Device time of GPU work, measured with two CUDA events on the default stream (where anima
// queues its kernels): start() records the first, stop_ms() records the second, waits for it and
// returns the elapsed milliseconds. Host clocks would add launch latency and the host's waits.
class GpuTimer {
 public:
  GpuTimer();  // requires a usable GPU
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;
  void start();
  double stop_ms();

 private:
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

}  // namespace anima
