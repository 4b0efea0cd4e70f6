#include "kernels/cuda_libraries.h"

#include "tensor/error.h"

#if ANIMA_CUDA
#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#endif

namespace anima::kernels {

#if ANIMA_CUDA
namespace {

std::string dotted(int major, int minor, int patch) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// dlopen's search order, for error messages: what a user can change to make the load work.
std::string search_path_hint() {
  const char* ld = std::getenv("LD_LIBRARY_PATH");
  return std::string("searched LD_LIBRARY_PATH (") + (ld && *ld ? ld : "unset") +
         "), the binary's run path and the system library cache";
}

// Opens `soname` and resolves every name through `resolve`, which returns the first missing name
// or nullptr. The result is kept for the process (the libraries are never closed).
template <class Table, class Resolve>
void load(CudaLibraryInfo& info, Table& table, const char* soname, Resolve resolve) {
  info.soname = soname;
  void* h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    info.error = std::string("cannot load ") + soname + ": " + (e ? e : "unknown error") + "; " + search_path_hint();
    return;
  }
  link_map* lm = nullptr;
  if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) info.path = lm->l_name;
  if (const char* missing = resolve(h, table)) {
    info.error = std::string(soname) + " (" + info.path + ") lacks the function " + missing + " that anima calls";
    return;
  }
  info.loaded = true;
}

template <class Fn>
bool resolve_one(void* h, const char* name, Fn& slot) {
  slot = reinterpret_cast<Fn>(dlsym(h, name));
  return slot != nullptr;
}

// A resolver for `load`: fills every pointer of a table from its list, returning the first name
// the library lacks (nullptr when all resolve).
#define ANIMA_RESOLVE_ONE(f) \
  if (!resolve_one(h, #f, t.f)) return #f;
#define ANIMA_RESOLVER(Table, LIST)      \
  [](void* h, Table& t) -> const char* { \
    LIST(ANIMA_RESOLVE_ONE)              \
    return nullptr;                      \
  }

struct Cublas {
  CudaLibraryInfo info;
  CublasFunctions fn;
  Cublas() {
    info.built_against = dotted(CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
    std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    load(info, fn, soname.c_str(), ANIMA_RESOLVER(CublasFunctions, ANIMA_CUBLAS_FUNCTIONS));
    if (!info.loaded) return;
    int v[3] = {0, 0, 0};
    const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
    for (int i = 0; i < 3; ++i) fn.cublasGetProperty(parts[i], &v[i]);
    info.version = dotted(v[0], v[1], v[2]);
  }
};

struct Cudnn {
  CudaLibraryInfo info;
  CudnnFunctions fn;
  Cudnn() {
    info.built_against = dotted(CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
    std::string soname = "libcudnn.so." + std::to_string(CUDNN_MAJOR);
    load(info, fn, soname.c_str(), ANIMA_RESOLVER(CudnnFunctions, ANIMA_CUDNN_FUNCTIONS));
    if (!info.loaded) return;
    // cuDNN 9 encodes its version as major * 10000 + minor * 100 + patch.
    size_t v = fn.cudnnGetVersion();
    info.version = dotted(int(v / 10000), int(v / 100 % 100), int(v % 100));
    if (v / 10000 != CUDNN_MAJOR) {
      info.loaded = false;
      info.error =
          info.path + " is cuDNN " + info.version + ", anima was built for cuDNN " + std::to_string(CUDNN_MAJOR);
    }
  }
};

const Cublas& cublas_state() {
  static Cublas c;  // thread-safe initialisation: loaded once
  return c;
}
const Cudnn& cudnn_state() {
  static Cudnn c;
  return c;
}

}  // namespace

const CublasFunctions& cublas_api() {
  const Cublas& c = cublas_state();
  ANIMA_CHECK(c.info.loaded, "cuBLAS unavailable: ", c.info.error);
  return c.fn;
}

const CudnnFunctions& cudnn_api() {
  const Cudnn& c = cudnn_state();
  ANIMA_CHECK(c.info.loaded, "cuDNN unavailable: ", c.info.error);
  return c.fn;
}

CudaLibraryInfo cublas_library() { return cublas_state().info; }
CudaLibraryInfo cudnn_library() { return cudnn_state().info; }

#else

CudaLibraryInfo cublas_library() { return {false, "", "", "", "", "built with CUDA=0"}; }
CudaLibraryInfo cudnn_library() { return {false, "", "", "", "", "built with CUDA=0"}; }

#endif

std::string cuda_libraries_report() {
  auto one = [](const char* name, const CudaLibraryInfo& i) {
    if (!i.loaded) return std::string(name) + " not loaded (" + i.error + ")";
    std::string s = std::string(name) + " " + i.version + " (" + i.path + ")";
    if (i.version != i.built_against) s += ", built against " + i.built_against;
    return s;
  };
  return one("cuBLAS", cublas_library()) + "; " + one("cuDNN", cudnn_library());
}

}  // namespace anima::kernels
