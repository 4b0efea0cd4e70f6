#include "tensor/runtime.h"

#include <mutex>
#include <sstream>

#include "tensor/error.h"
#include "tensor/hd.h"

#if ANIMA_CUDA
#include <cuda_runtime.h>

#include "tensor/cuda_check.h"
#endif

namespace anima {
namespace {

struct CudaProbe {
  bool available = false;
  std::string status;
};

const CudaProbe& probe() {
  static CudaProbe p;
  static std::once_flag once;
  std::call_once(once, [] {
#if ANIMA_CUDA
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      p.status = std::string("no usable GPU: cudaGetDeviceCount failed: ") + cudaGetErrorString(err);
      cudaGetLastError();  // clear the sticky error so later checks are not confused by it
    } else if (count == 0) {
      p.status = "no usable GPU: no CUDA device present";
    } else {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        std::ostringstream os;
        os << prop.name << " (sm_" << prop.major << prop.minor << ", " << prop.multiProcessorCount << " SMs, "
           << (prop.totalGlobalMem >> 20) << " MiB)";
        p.status = os.str();
        p.available = true;
      } else {
        p.status = "no usable GPU: cudaGetDeviceProperties failed";
      }
    }
#else
    p.status = "no usable GPU: anima was built with CUDA=0";
#endif
  });
  return p;
}

}  // namespace

bool built_with_cuda() { return ANIMA_CUDA != 0; }
bool cuda_available() { return probe().available; }
std::string cuda_status() { return probe().status; }

std::string device_report() {
  std::ostringstream os;
#if ANIMA_CUDA
  int rt = 0, driver = 0;
  cudaRuntimeGetVersion(&rt);
  os << "CUDA runtime " << rt / 1000 << "." << (rt % 1000) / 10 << ", driver ";
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    os << driver / 1000 << "." << (driver % 1000) / 10 << "; ";
  else
    os << "none; ";
#endif
  os << (cuda_available() ? "GPU: " : "") << cuda_status();
  return os.str();
}

void require_cuda(const char* op) {
  ANIMA_CHECK(cuda_available(), op, ": a CUDA tensor was requested but ", cuda_status());
}

void cuda_synchronize() {
#if ANIMA_CUDA
  if (cuda_available()) ANIMA_CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

#if ANIMA_CUDA
GpuTimer::GpuTimer() {
  require_cuda("GpuTimer");
  cudaEvent_t a = nullptr, b = nullptr;
  ANIMA_CUDA_CHECK(cudaEventCreate(&a));
  ANIMA_CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}
GpuTimer::~GpuTimer() {
  cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}
void GpuTimer::start() { ANIMA_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), 0)); }
double GpuTimer::stop_ms() {
  auto b = static_cast<cudaEvent_t>(stop_);
  ANIMA_CUDA_CHECK(cudaEventRecord(b, 0));
  ANIMA_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  ANIMA_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), b));
  return double(ms);
}
#else
GpuTimer::GpuTimer() { require_cuda("GpuTimer"); }
GpuTimer::~GpuTimer() = default;
void GpuTimer::start() {}
double GpuTimer::stop_ms() { return 0; }
#endif

Device resolve_device(const std::string& name, const char* what) {
  if (name == "auto") return cuda_available() ? Device::cuda() : Device::cpu();
  Device d = parse_device(name);
  if (d.is_cuda()) require_cuda(what);
  return d;
}

}  // namespace anima
