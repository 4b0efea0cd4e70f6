// The single-source marker: a function marked ANIMA_HD is compiled for the host and, when nvcc
// builds the file, for the device too. With `make CUDA=0` (plain g++) it expands to nothing.
#pragma once

#if defined(__CUDACC__)
#define ANIMA_HD __host__ __device__
#define ANIMA_DEVICE_CODE 1
#else
#define ANIMA_HD
#define ANIMA_DEVICE_CODE 0
#endif

// ANIMA_HD_INLINE: ANIMA_HD and always inlined, for small math helpers that the CPU's vector loops
// must see whole (a call is a loop the compiler cannot vectorise).
#if defined(__CUDACC__)
#define ANIMA_HD_INLINE __host__ __device__ __forceinline__
#else
#define ANIMA_HD_INLINE inline __attribute__((always_inline))
#endif

// Before a short loop of fixed length: unrolled whole, so that a loop around it can vectorise.
#if defined(__CUDA_ARCH__)
#define ANIMA_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__)
#define ANIMA_UNROLL  // nvcc's host side: one baseline version anyway (kernels/launch.h)
#else
#define ANIMA_UNROLL _Pragma("GCC unroll 16")
#endif

#ifndef ANIMA_CUDA
#define ANIMA_CUDA 0
#endif
