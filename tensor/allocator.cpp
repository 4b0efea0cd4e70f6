#include "tensor/allocator.h"

#include <fstream>
#include <malloc.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/error.h"
#include "tensor/hd.h"
#include "tensor/runtime.h"

#if ANIMA_CUDA
#include "tensor/cuda_check.h"
#endif

namespace anima {
namespace {

constexpr size_t kCpuAlign = 64;

struct Counters {
  MemoryStats stats;
  void on_alloc(size_t n) {
    stats.current += n;
    stats.allocations++;
    if (stats.current > stats.peak) stats.peak = stats.current;
  }
  void on_free(size_t n) { stats.current -= n; }
};

// The allocator state is created once and never destroyed, so tensors held in static objects
// can still be freed safely while the program exits.
struct State {
  std::mutex mutex;
  Counters cpu;
  Counters cuda;
  // CUDA free lists: rounded size -> cached blocks of exactly that size.
  std::unordered_map<size_t, std::vector<void*>> cuda_free;
};

State& state() {
  static State* s = new State;
  return *s;
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
size_t cpu_block_size(size_t nbytes) { return round_up(nbytes == 0 ? 1 : nbytes, kCpuAlign); }

#if ANIMA_CUDA
void release_cached_locked(State& st) {
  for (auto& [size, blocks] : st.cuda_free) {
    for (void* p : blocks) {
      ANIMA_CUDA_CHECK(cudaFree(p));
      st.cuda.stats.reserved -= size;
    }
  }
  st.cuda_free.clear();
}

void* cuda_allocate(State& st, size_t nbytes) {
  size_t n = cuda_bucket_size(nbytes);
  std::lock_guard<std::mutex> lock(st.mutex);
  void* p = nullptr;
  auto it = st.cuda_free.find(n);
  if (it != st.cuda_free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&p, n);
    if (err == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
      cudaGetLastError();
      release_cached_locked(st);
      err = cudaMalloc(&p, n);
    }
    // Anything but out-of-memory (e.g. a sticky fault of an earlier kernel) is reported as it is.
    if (err != cudaSuccess && err != cudaErrorMemoryAllocation) ANIMA_CUDA_CHECK(err);
    if (err != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      ANIMA_FAIL("allocate: CUDA out of memory allocating ", nbytes, " bytes (", n, " rounded); device free ",
                 free_b >> 20, " MiB of ", total_b >> 20, " MiB; anima holds ", st.cuda.stats.current >> 20,
                 " MiB in tensors");
    }
    st.cuda.stats.reserved += n;
    st.cuda.stats.driver_allocations++;
  }
  st.cuda.on_alloc(n);
  return p;
}
#endif

}  // namespace

size_t cuda_bucket_size(size_t nbytes) {
  constexpr size_t kSmall = 1 << 20, kLargeStep = 2 << 20;
  if (nbytes <= 512) return 512;
  if (nbytes < kSmall) {
    size_t b = 512;
    while (b < nbytes) b <<= 1;
    return b;
  }
  return round_up(nbytes, kLargeStep);
}

// glibc hands blocks above its mmap threshold (128 KiB at first) back to the OS on free, and the
// next allocation of that size page-faults fresh zeroed pages in again: on the CPU a training
// step spent about a third of its time in the kernel doing that. Raising the threshold to its
// maximum (32 MiB) and the trim threshold to 1 GiB keeps freed activations in the process for
// reuse, as the CUDA caching allocator does on the device (anima bench model --model
// refined-mask, small config at batch 4 on 2 CPU cores: 2.9 s -> 2.2-2.5 s per step).
void tune_host_malloc() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

void* allocate(Device device, size_t nbytes) {
  tune_host_malloc();
  State& st = state();
  if (device.is_cpu()) {
    size_t n = cpu_block_size(nbytes);
    void* p = std::aligned_alloc(kCpuAlign, n);
    ANIMA_CHECK(p != nullptr, "allocate: out of host memory allocating ", nbytes, " bytes");
    std::lock_guard<std::mutex> lock(st.mutex);
    st.cpu.on_alloc(n);
    return p;
  }
  require_cuda("allocate");
#if ANIMA_CUDA
  return cuda_allocate(st, nbytes);
#else
  return nullptr;  // unreachable: require_cuda throws in a CUDA=0 build
#endif
}

void deallocate(Device device, void* ptr, size_t nbytes) {
  if (!ptr) return;
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  if (device.is_cpu()) {
    std::free(ptr);
    st.cpu.on_free(cpu_block_size(nbytes));
    return;
  }
  size_t n = cuda_bucket_size(nbytes);
  st.cuda_free[n].push_back(ptr);
  st.cuda.on_free(n);
}

void* allocate_pinned(size_t nbytes) {
#if ANIMA_CUDA
  if (cuda_available()) {
    void* p = nullptr;
    ANIMA_CUDA_CHECK(cudaHostAlloc(&p, nbytes == 0 ? 1 : nbytes, cudaHostAllocDefault));
    return p;
  }
#endif
  void* p = std::aligned_alloc(kCpuAlign, cpu_block_size(nbytes));
  ANIMA_CHECK(p != nullptr, "allocate_pinned: out of host memory allocating ", nbytes, " bytes");
  return p;
}

void deallocate_pinned(void* ptr) {
  if (!ptr) return;
#if ANIMA_CUDA
  if (cuda_available()) {
    // cudaFreeHost waits for pending copies from this buffer.
    ANIMA_CUDA_CHECK(cudaFreeHost(ptr));
    return;
  }
#endif
  std::free(ptr);
}

MemoryStats memory_stats(Device device) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  return device.is_cpu() ? st.cpu.stats : st.cuda.stats;
}

void reset_peak_memory(Device device) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  Counters& c = device.is_cpu() ? st.cpu : st.cuda;
  c.stats.peak = c.stats.current;
}

void empty_cache() {
#if ANIMA_CUDA
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  release_cached_locked(st);
#endif
}

int64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return int64_t(std::strtoll(line.c_str() + 6, nullptr, 10)) * 1024;
  return 0;
}

}  // namespace anima
