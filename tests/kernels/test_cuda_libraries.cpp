// cuBLAS and cuDNN are opened at run time (kernels/cuda_libraries.h). These tests need no GPU:
// where the libraries are installed (the CUDA toolkit of the build machine and CI) every function
// anima calls must resolve, so a missing or renamed one is caught before a GPU ever runs it.
#include "kernels/cuda_libraries.h"
#include "tests/test_util.h"

using namespace anima;

namespace {

void check_library(const char* name, const kernels::CudaLibraryInfo& info) {
  INFO(name << ": " << info.error);
  if (!built_with_cuda()) {
    CHECK_FALSE(info.loaded);
    CHECK(info.error.find("CUDA=0") != std::string::npos);
    return;
  }
  CHECK(info.soname.find(".so.") != std::string::npos);
  if (!info.loaded) {
    // Absent here: the message must name the file and where it was looked for.
    CHECK(info.error.find(info.soname) != std::string::npos);
    CHECK(info.error.find("LD_LIBRARY_PATH") != std::string::npos);
    test::mark_skipped(std::string(name) + " is not installed here");
    return;
  }
  CHECK_FALSE(info.path.empty());
  CHECK_FALSE(info.version.empty());
  // The same major version as the headers (the library's soname carries it).
  CHECK(info.version.substr(0, info.version.find('.')) == info.built_against.substr(0, info.built_against.find('.')));
}

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("cuBLAS is found at run time and every function anima calls resolves") {
  check_library("cuBLAS", kernels::cublas_library());
#if ANIMA_CUDA
  if (kernels::cublas_library().loaded) {
    const kernels::CublasFunctions& f = kernels::cublas_api();
#define ANIMA_CHECK_RESOLVED(fn) CHECK_MESSAGE(bool(f.fn), #fn);
    ANIMA_CUBLAS_FUNCTIONS(ANIMA_CHECK_RESOLVED)
#undef ANIMA_CHECK_RESOLVED
  }
#endif
}

TEST_CASE("cuDNN is found at run time and every function anima calls resolves") {
  check_library("cuDNN", kernels::cudnn_library());
#if ANIMA_CUDA
  if (kernels::cudnn_library().loaded) {
    const kernels::CudnnFunctions& f = kernels::cudnn_api();
#define ANIMA_CHECK_RESOLVED(fn) CHECK_MESSAGE(bool(f.fn), #fn);
    ANIMA_CUDNN_FUNCTIONS(ANIMA_CHECK_RESOLVED)
#undef ANIMA_CHECK_RESOLVED
  }
#endif
}

TEST_CASE("the GPU library report names both libraries") {
  std::string r = kernels::cuda_libraries_report();
  CHECK(r.find("cuBLAS") != std::string::npos);
  CHECK(r.find("cuDNN") != std::string::npos);
}

}  // TEST_SUITE
