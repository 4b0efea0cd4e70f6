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

#ifndef ANIMA_CUDA
#define ANIMA_CUDA 0
#endif
