#include "tensor/allocator.h"

#include <fstream>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
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
  // Live large CPU blocks and their sizes (a block from the cache may exceed its request), their
  // total, and the most that total has been at once (never reset: the cache's bound).
  std::unordered_map<void*, size_t> cpu_large;
  size_t cpu_large_live = 0, cpu_large_high = 0;
};

State& state() {
  static State* s = new State;
  return *s;
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// CPU blocks of 1 MiB and more (kCpuCacheMin) are mapped one by one (map_block) and cached here,
// as the CUDA ones are: a freed block waits in a list for the next request of its rounded size
// (cpu_block_size). Two costs are traded:
// - Without a cache, every free of a mapped block unmaps it and the next allocation page-faults
//   fresh zeroed pages in again: each use of a 256x256 im2col buffer faulted 150 MB in (a sixth
//   of a vox-256 animation frame in the kernel, perf).
// - In malloc's heap instead (what anima did below 32 MiB until issue 21's fifth session), the
//   activations of a step fragment it: a vox-256 training step ended with a 1992 MiB heap of which
//   600 MiB were in use, the process's peak RSS 2.8 GB for 1.7 GB of tensors.
// So the cache is bounded by what the tensors themselves needed: the live large blocks and the
// cached ones together never exceed the highest total of live large blocks so far
// (cpu_large_high) plus kCpuCacheSlack. A request the cache cannot serve first gives back the
// oldest cached blocks until the fresh block fits under that bound (a request beyond it empties
// the cache). The peak RSS of large blocks is thus at most their peak in use plus the slack; in
// steady state (a training loop repeats its sizes) most requests are served from the list.
// Without the slack, a small model's many sizes thrash it: `anima animate` with fomm-shapes-64
// on a 299-frame 512x512 video (large blocks peaking at 20 MiB) mapped 1393 fresh blocks, 3.7 GB,
// and took 4.8-6.4 s against 3.8-4.3 with the old heap; with 64 MiB of slack 26 blocks (4.2 s)
// for 141 MiB of peak RSS (112 before, 98 without the slack). vox-256 training at batch 1:
// 889 -> 626 fresh blocks, peak RSS 1586 -> 1658 MiB. Smaller blocks stay in malloc's heap.
constexpr size_t kCpuCacheMin = size_t(1) << 20;
constexpr size_t kCpuCacheSlack = size_t(64) << 20;

size_t cpu_block_size(size_t nbytes) {
  size_t n = round_up(nbytes == 0 ? 1 : nbytes, kCpuAlign);
  if (n < kCpuCacheMin) return n;
  // Sixteen size classes per power of two (at most 6.25% over), in steps of at least 64 KiB.
  size_t top = size_t(1) << (63 - __builtin_clzll(uint64_t(n)));
  return round_up(n, std::max(top >> 4, size_t(64) << 10));
}

// Large blocks are mapped from the kernel directly (anonymous pages, page aligned), not through
// malloc: the rest of the process (FFmpeg's frame buffers, file readers) keeps glibc's heap and
// mmap threshold as tune_host_malloc sets them. Under AddressSanitizer they go through malloc,
// so that its checks see them.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMapLargeBlocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMapLargeBlocks = false;
#else
constexpr bool kMapLargeBlocks = true;
#endif
#else
constexpr bool kMapLargeBlocks = true;
#endif

// A fresh large block of n bytes (a multiple of 64 KiB), or null. Its pages are advised for
// transparent huge pages: one page fault and one zeroing per 2 MiB instead of per 4 KiB (a no-op
// where the kernel's THP setting is "never"; vox-256 training, 3 alternating rounds: 3.30-4.06 s
// per step with the advice, 3.65-4.64 without).
void* map_block(size_t n) {
  if (!kMapLargeBlocks) return std::aligned_alloc(kCpuAlign, n);
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (n >= (size_t(2) << 20)) madvise(p, n, MADV_HUGEPAGE);
  return p;
}

void unmap_block(void* p, size_t n) {
  if (kMapLargeBlocks)
    munmap(p, n);
  else
    std::free(p);
}

// Gives cached blocks back to the OS, oldest first, until at most `keep` bytes stay cached.
void release_cpu_cached_locked(State& st, size_t keep) {
  size_t drop = 0;
  while (drop < st.cpu_free.size() && st.cpu_cached > keep) {
    unmap_block(st.cpu_free[drop].second, st.cpu_free[drop].first);
    st.cpu_cached -= st.cpu_free[drop].first;
    ++drop;
  }
  st.cpu_free.erase(st.cpu_free.begin(), st.cpu_free.begin() + ptrdiff_t(drop));
}

// The cached block that serves a request of n bytes (rounded), or null: of the blocks from n to
// n + n/4 bytes the smallest, and of those the most recently freed. Its size goes to `got`.
void* cpu_cache_take_locked(State& st, size_t n, size_t& got) {
  size_t best = st.cpu_free.size(), limit = n + n / 4;
  for (size_t i = st.cpu_free.size(); i-- > 0;) {
    size_t size = st.cpu_free[i].first;
    if (size >= n && size <= limit && (best == st.cpu_free.size() || size < st.cpu_free[best].first)) best = i;
    if (size == n) break;
  }
  if (best == st.cpu_free.size()) return nullptr;
  void* p = st.cpu_free[best].second;
  got = st.cpu_free[best].first;
  st.cpu_free.erase(st.cpu_free.begin() + ptrdiff_t(best));
  st.cpu_cached -= got;
  return p;
}

// A fresh block of n bytes (mapped when large); when that fails, the cache goes back to the OS
// and the allocation is tried once more.
void* host_block_locked(State& st, size_t n, size_t nbytes) {
  auto get = [n] { return n >= kCpuCacheMin ? map_block(n) : std::aligned_alloc(kCpuAlign, n); };
  void* p = get();
  if (!p && st.cpu_cached > 0) {
    release_cpu_cached_locked(st, 0);
    p = get();
  }
  ANIMA_CHECK(p != nullptr, "allocate: out of host memory allocating ", nbytes, " bytes");
  return p;
}

void* cpu_allocate(State& st, size_t nbytes) {
  size_t n = cpu_block_size(nbytes), got = n;
  std::lock_guard<std::mutex> lock(st.mutex);
  if (n < kCpuCacheMin) {
    void* p = host_block_locked(st, n, nbytes);
    st.cpu.on_alloc(n);
    return p;
  }
  void* p = cpu_cache_take_locked(st, n, got);
  if (!p) {  // live + cached + n stay within the bound (the comment at kCpuCacheMin)
    size_t bound = std::max(st.cpu_large_high + kCpuCacheSlack, st.cpu_large_live + n);
    release_cpu_cached_locked(st, bound - st.cpu_large_live - n);
    p = host_block_locked(st, n, nbytes);
  }
  st.cpu.on_alloc(got);
  st.cpu_large.emplace(p, got);
  st.cpu_large_live += got;
  st.cpu_large_high = std::max(st.cpu_large_high, st.cpu_large_live);
  return p;
}

void cpu_deallocate(State& st, void* ptr, size_t nbytes) {
  size_t n = cpu_block_size(nbytes);
  if (n < kCpuCacheMin) {
    st.cpu.on_free(n);
    std::free(ptr);
    return;
  }
  auto it = st.cpu_large.find(ptr);
  ANIMA_CHECK(it != st.cpu_large.end(), "deallocate: the ", nbytes, "-byte block at ", ptr,
              " is not a live CPU block");
  n = it->second;
  st.cpu_large.erase(it);
  st.cpu.on_free(n);
  st.cpu_large_live -= n;
  st.cpu_free.emplace_back(n, ptr);
  st.cpu_cached += n;
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
// maximum (32 MiB) and the trim threshold to 1 GiB keeps freed memory in the process for reuse
// (anima bench model --model refined-mask, small config at batch 4 on 2 CPU cores: 2.9 s ->
// 2.2-2.5 s per step). Tensors of 1 MiB and more do not use the heap (map_block, above).
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
  if (device.is_cpu()) return cpu_allocate(st, nbytes);
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
    cpu_deallocate(st, ptr, nbytes);
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
  cpu.cache_bound = st.cpu_large_high;
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
