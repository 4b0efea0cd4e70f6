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
  // Large CPU blocks kept for reuse (deallocate, cpu_cache_take_locked), oldest first, and their total size.
  std::vector<std::pair<size_t, void*>> cpu_free;
  size_t cpu_cached = 0;
};

State& state() {
  static State* s = new State;
  return *s;
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// CPU blocks from this size up are above glibc's largest mmap threshold (tune_host_malloc): each
// malloc maps fresh pages and each free unmaps them, so every use of, say, a 256x256 im2col
// buffer page-faulted 150 MB of zeroed pages in again (a sixth of a vox-256 animation frame in
// the kernel, perf). Such blocks, rounded to 2 MiB, are cached as the CUDA ones are: freed
// blocks wait in a list for a request of the same size, the oldest given back to the OS once the
// list holds more than kCpuCacheLimit. Smaller blocks stay in malloc's heap.
constexpr size_t kCpuCacheMin = size_t(32) << 20, kCpuCacheStep = size_t(2) << 20;
constexpr size_t kCpuCacheLimit = size_t(512) << 20;

size_t cpu_block_size(size_t nbytes) {
  size_t n = round_up(nbytes == 0 ? 1 : nbytes, kCpuAlign);
  return n >= kCpuCacheMin ? round_up(n, kCpuCacheStep) : n;
}

void release_cpu_cached_locked(State& st, size_t keep) {
  size_t drop = 0;
  while (drop < st.cpu_free.size() && st.cpu_cached > keep) {
    std::free(st.cpu_free[drop].second);
    st.cpu_cached -= st.cpu_free[drop].first;
    ++drop;
  }
  st.cpu_free.erase(st.cpu_free.begin(), st.cpu_free.begin() + ptrdiff_t(drop));
}

// A cached block of exactly n bytes (the most recently freed), or null.
void* cpu_cache_take_locked(State& st, size_t n) {
  for (size_t i = st.cpu_free.size(); i-- > 0;) {
    if (st.cpu_free[i].first != n) continue;
    void* p = st.cpu_free[i].second;
    st.cpu_free.erase(st.cpu_free.begin() + ptrdiff_t(i));
    st.cpu_cached -= n;
    return p;
  }
  return nullptr;
}

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
    std::lock_guard<std::mutex> lock(st.mutex);
    void* p = n >= kCpuCacheMin ? cpu_cache_take_locked(st, n) : nullptr;
    if (!p) p = std::aligned_alloc(kCpuAlign, n);
    if (!p && st.cpu_cached > 0) {  // give the cache back to the OS and try once more
      release_cpu_cached_locked(st, 0);
      p = std::aligned_alloc(kCpuAlign, n);
    }
    ANIMA_CHECK(p != nullptr, "allocate: out of host memory allocating ", nbytes, " bytes");
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
    size_t n = cpu_block_size(nbytes);
    st.cpu.on_free(n);
    if (n < kCpuCacheMin || n > kCpuCacheLimit) {
      std::free(ptr);
      return;
    }
    st.cpu_free.emplace_back(n, ptr);
    st.cpu_cached += n;
    release_cpu_cached_locked(st, kCpuCacheLimit);
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
  if (!device.is_cpu()) return st.cuda.stats;
  MemoryStats cpu = st.cpu.stats;
  cpu.reserved = cpu.current + st.cpu_cached;
  return cpu;
}

void reset_peak_memory(Device device) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  Counters& c = device.is_cpu() ? st.cpu : st.cuda;
  c.stats.peak = c.stats.current;
}

void empty_cache() {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mutex);
  release_cpu_cached_locked(st, 0);
#if ANIMA_CUDA
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
