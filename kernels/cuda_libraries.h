// cuBLAS and cuDNN, loaded at run time (dlopen) on first use instead of linked.
//
// Why: a binary linked against libcublas.so.13 and libcudnn.so.9 does not even start where those
// files are absent, and they are large (cuBLAS with cuBLASLt is over 500 MB) and come from many
// places (the CUDA toolkit, PyTorch's pip packages, a distribution). Loaded on first use, the
// same binary starts everywhere: on a bare machine it reports the missing library and runs on
// the CPU; on a GPU machine it finds them through LD_LIBRARY_PATH, the binary's run path or the
// system's library cache. (The CUDA runtime itself is linked statically; it finds the driver,
// libcuda.so.1, the same way.)
//
// Use: `cublas_api().cublasCreate_v2(&h)`, `cudnn_api().cudnnCreate(&h)`. The first call loads the
// library and resolves every function of the table below; a missing library or function is an
// Error naming the file, the search path and dlerror's text. Functions are named as the library
// exports them (cublas_v2.h's macros map cublasCreate to cublasCreate_v2).
#pragma once
#include <string>

namespace anima::kernels {

// One of the two libraries: where it was found and what it reports of itself.
struct CudaLibraryInfo {
  bool loaded = false;
  std::string soname;         // e.g. libcudnn.so.9
  std::string path;           // the file the loader opened (empty when not loaded)
  std::string version;        // as the library reports it, e.g. 9.13.0
  std::string built_against;  // the headers' version at build time
  std::string error;          // why it is not loaded
};

// Loads (once) and describes each library; never throws. In a CUDA=0 build: not loaded, with
// the reason.
CudaLibraryInfo cublas_library();
CudaLibraryInfo cudnn_library();
// "cuBLAS 13.0.2 (/usr/local/cuda/lib64/libcublas.so.13); cuDNN 9.13.0 (...)", or the reasons.
std::string cuda_libraries_report();

}  // namespace anima::kernels

#if ANIMA_CUDA
#include <cublas_v2.h>
#include <cudnn.h>

namespace anima::kernels {

// Every cuBLAS / cuDNN function anima calls. Adding a call means adding its name here; the
// compiler checks each pointer's type against the header.
#define ANIMA_CUBLAS_FUNCTIONS(X) \
  X(cublasCreate_v2)              \
  X(cublasGetProperty)            \
  X(cublasGetStatusName)          \
  X(cublasGetStatusString)        \
  X(cublasSgemmStridedBatched)

#define ANIMA_CUDNN_FUNCTIONS(X)                   \
  X(cudnnGetVersion)                               \
  X(cudnnGetErrorString)                           \
  X(cudnnCreate)                                   \
  X(cudnnCreateTensorDescriptor)                   \
  X(cudnnSetTensor4dDescriptor)                    \
  X(cudnnDestroyTensorDescriptor)                  \
  X(cudnnCreateFilterDescriptor)                   \
  X(cudnnSetFilter4dDescriptor)                    \
  X(cudnnDestroyFilterDescriptor)                  \
  X(cudnnCreateConvolutionDescriptor)              \
  X(cudnnSetConvolution2dDescriptor)               \
  X(cudnnSetConvolutionGroupCount)                 \
  X(cudnnSetConvolutionMathType)                   \
  X(cudnnDestroyConvolutionDescriptor)             \
  X(cudnnGetConvolutionForwardAlgorithm_v7)        \
  X(cudnnGetConvolutionBackwardDataAlgorithm_v7)   \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) \
  X(cudnnConvolutionForward)                       \
  X(cudnnConvolutionBackwardData)                  \
  X(cudnnConvolutionBackwardFilter)                \
  X(cudnnBatchNormalizationForwardTraining)        \
  X(cudnnBatchNormalizationBackward)

#define ANIMA_LIBRARY_POINTER(fn) decltype(&::fn) fn = nullptr;
struct CublasFunctions {
  ANIMA_CUBLAS_FUNCTIONS(ANIMA_LIBRARY_POINTER)
};
struct CudnnFunctions {
  ANIMA_CUDNN_FUNCTIONS(ANIMA_LIBRARY_POINTER)
};
#undef ANIMA_LIBRARY_POINTER

// The resolved tables; the first call loads the library, and throws if it cannot.
const CublasFunctions& cublas_api();
const CudnnFunctions& cudnn_api();

}  // namespace anima::kernels
#endif
