// Memory for tensors.
// - CPU: 64-byte aligned blocks (cache line, AVX-512 friendly), size rounded up to 64. Blocks of
//   1 MiB and more round up to one of 16 sizes per power of two, are mapped one by one, and are
//   cached on free for a later request of their size (or up to a quarter less); the cached and
//   the live ones together never exceed the most the live ones have ever held (`cache_bound`)
//   plus 64 MiB, so caching adds at most that to the process's peak memory (allocator.cpp says
//   why).
// - CUDA: a caching allocator. Freed blocks go to a free list keyed by their rounded size and are
//   handed out again, so a training step in steady state does no cudaMalloc/cudaFree. Sizes under
//   1 MiB round up to a power of two (at least 512 B); larger sizes to a multiple of 2 MiB. When
//   cudaMalloc fails, the cache is released and the allocation retried once before an error.
// All kernels run on the default stream, so a block freed by the host may be reused at once:
// work that used it is ordered before any later work on the same stream.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/device.h"

namespace anima {

struct MemoryStats {
  size_t current = 0;             // bytes held by live tensors (rounded sizes)
  size_t peak = 0;                // highest `current` since start or reset_peak
  size_t reserved = 0;            // bytes obtained from the driver (live + cached; CPU: + cached large blocks)
  size_t allocations = 0;         // number of allocate() calls
  size_t driver_allocations = 0;  // number of cudaMalloc calls (should stop growing in steady state)
  size_t cache_bound = 0;         // CPU: the most bytes live blocks of 1 MiB and more have held at once
};

void* allocate(Device device, size_t nbytes);
void deallocate(Device device, void* ptr, size_t nbytes);
// Page-locked host memory (cudaHostAlloc); plain aligned memory in a build or machine without CUDA.
void* allocate_pinned(size_t nbytes);
void deallocate_pinned(void* ptr);

MemoryStats memory_stats(Device device);
// The process's peak resident memory since it started (VmHWM of /proc/self/status), in bytes; 0
// where that is not available.
int64_t peak_resident_bytes();
void reset_peak_memory(Device device);
// Returns cached CUDA blocks to the driver and cached large CPU blocks to the OS.
void empty_cache();

// Rounding used by the CUDA caching allocator (exposed for tests).
size_t cuda_bucket_size(size_t nbytes);

}  // namespace anima
