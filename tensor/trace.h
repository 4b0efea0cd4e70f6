// Named ranges for a profiler's timeline (NVIDIA Nsight Systems, nsys): ANIMA_TRACE("name") opens
// a range that closes at the end of the scope. Each network's forward, each loss term, the
// backward pass and the optimiser steps are marked, so a timeline of a training step reads like
// the model. NVTX is header-only: with no profiler attached a range costs a few nanoseconds. The
// CPU build (CUDA=0) compiles the ranges out.
#pragma once

#if ANIMA_CUDA && __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define ANIMA_HAVE_NVTX 1
#else
#define ANIMA_HAVE_NVTX 0
#endif

namespace anima {

class TraceRange {
 public:
#if ANIMA_HAVE_NVTX
  explicit TraceRange(const char* name) { nvtxRangePushA(name); }
  ~TraceRange() { nvtxRangePop(); }
#else
  explicit TraceRange(const char*) {}
#endif
  TraceRange(const TraceRange&) = delete;
  TraceRange& operator=(const TraceRange&) = delete;
};

// Whether this build emits the ranges.
constexpr bool trace_ranges_enabled() { return ANIMA_HAVE_NVTX; }

}  // namespace anima

#define ANIMA_TRACE_CAT2(a, b) a##b
#define ANIMA_TRACE_CAT(a, b) ANIMA_TRACE_CAT2(a, b)
#define ANIMA_TRACE(name) ::anima::TraceRange ANIMA_TRACE_CAT(anima_trace_range_, __LINE__)(name)
