#!/usr/bin/env bash
# make gpu-bundle: what a borrowed GPU machine needs to run tools/gpu_check.sh, besides the
# repository (which travels with it). Written into gpu-bundle/ (ignored by git):
#
#   bin.tar.xz    bin/anima and bin/anima_tests: built for sm_90 (SASS) + compute_90 (PTX),
#                 without video IO (VIDEO=0), every library but glibc linked in (STATIC=1: OpenBLAS,
#                 yaml-cpp, stb, libjpeg-turbo, minizip, zlib, libstdc++, libgcc, libgomp, the CUDA runtime). cuBLAS and cuDNN
#                 are not in it: anima opens them at run time (kernels/cuda_libraries.h), and the
#                 GPU machine has them (PyTorch's pip packages, or the CUDA toolkit).
#   kit.tar.xz    the fallback, for a GPU machine where those binaries cannot start: the headers
#                 and static libraries of the Debian packages the build needs (doctest, CLI11, stb,
#                 yaml-cpp, libjpeg-turbo, minizip, zlib, OpenBLAS) plus cuBLAS's and cuDNN's headers, so that gpu_check.sh can
#                 build there with that machine's nvcc (make ... DEPS=0 EXTRA_CXXFLAGS=-isystem ...).
#   MANIFEST.txt  commit, build flags, sizes and checksums.
#
# Why this shape: the shared-library closure of a normal build is about 170 MB (FFmpeg's codecs
# dominate; libopenblas.so alone is 36 MB), over the 64 MiB that travels to the GPU machine. A
# static OpenBLAS is 25 MB of mostly dispatch tables for every x86 core type, and compresses
# about 18x; so the binaries are static and the bundle is xz-compressed.
#
# Usage: tools/make_gpu_bundle.sh [OUT_DIR]  (default gpu-bundle; run from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-bundle}
limit_mib=56
build=build-bundle
arch=90

echo "gpu-bundle: building anima and anima_tests for sm_${arch} (VIDEO=0 STATIC=1) in ${build}/"
make CUDA=1 CUDA_ARCH=${arch} VIDEO=0 STATIC=1 BUILD_DIR=${build} EXTRA_NVCCFLAGS=-lineinfo all

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/kit/include" "$stage/kit/lib"
# Debug sections stripped (symbols kept, for readable backtraces); -lineinfo keeps the device
# line table that compute-sanitizer's reports cite.
for b in anima anima_tests; do objcopy --strip-debug "${build}/$b" "$stage/bin/$b"; done

# The binaries must need nothing beyond glibc: list what they ask the loader for.
for b in anima anima_tests; do
  needed=$(objdump -p "$stage/bin/$b" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')
  for lib in $needed; do
    case $lib in
      libc.so.*|libm.so.*|libdl.so.*|librt.so.*|libpthread.so.*|ld-linux-x86-64.so.*) ;;
      *) echo "gpu-bundle: error: bin/$b needs $lib, which a bare machine lacks" >&2; exit 1 ;;
    esac
  done
  echo "gpu-bundle: bin/$b needs only: $needed"
done

# The fallback kit: headers and static archives as this machine's Debian packages hold them
# (links resolved), and the CUDA libraries' headers.
inc=/usr/include
cp -rL "$inc/doctest" "$inc/CLI" "$inc/stb" "$inc/yaml-cpp" "$inc/minizip" "$inc/zlib.h" "$inc/zconf.h" \
  "$inc/jpeglib.h" "$inc/jerror.h" "$inc/jmorecfg.h" "$inc/x86_64-linux-gnu/jconfig.h" "$stage/kit/include/"
blas_inc=$(dirname "$(readlink -f "$inc/x86_64-linux-gnu/cblas.h")")
cp -L "$blas_inc"/cblas.h "$blas_inc"/openblas_config.h "$stage/kit/include/"
cuda_inc=${CUDA_HOME:-/usr/local/cuda}/include
cp -L "$cuda_inc"/cublas*.h "$cuda_inc"/cudnn*.h "$stage/kit/include/"
libdir=/usr/lib/x86_64-linux-gnu
for a in libopenblas.a libyaml-cpp.a libstb.a libjpeg.a libminizip.a libz.a; do cp -L "$libdir/$a" "$stage/kit/lib/"; done

rm -rf "$out"
mkdir -p "$out"
# -T0: all cores; -6: xz's default level (about 1 s to unpack on the GPU machine).
tar -C "$stage" -cf - bin | xz -T0 -6 > "$out/bin.tar.xz"
tar -C "$stage" -cf - kit | xz -T0 -6 > "$out/kit.tar.xz"

commit=$(git describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
{
  echo "anima GPU-check bundle"
  echo "commit: $commit"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(ldd --version | head -1)"
  echo "nvcc: $(${CUDA_HOME:-/usr/local/cuda}/bin/nvcc --version | tail -1)"
  echo "flags: $(cat ${build}/flags.stamp)"
  echo "glibc symbols needed (highest): $(objdump -T "$stage/bin/anima_tests" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  echo "files:"
  (cd "$stage" && find bin -type f -exec sha256sum {} + && find kit -type f | wc -l | sed 's/^/  kit files: /')
  (cd "$out" && ls -l bin.tar.xz kit.tar.xz | awk '{print "  " $9 ": " $5 " bytes"}')
} > "$out/MANIFEST.txt"

bundle_bytes=$(du -sb "$out" | cut -f1)
repo_bytes=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
total=$(( bundle_bytes + repo_bytes ))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "gpu-bundle: $out/ is $(mib "$bundle_bytes") MiB (bin.tar.xz $(mib "$(stat -c %s "$out/bin.tar.xz")"), kit.tar.xz $(mib "$(stat -c %s "$out/kit.tar.xz")")); with the repository's tracked files ($(mib "$repo_bytes") MiB): $(mib "$total") MiB of the ${limit_mib} MiB limit"
if [ "$total" -gt $(( limit_mib * 1048576 )) ]; then
  echo "gpu-bundle: error: over the ${limit_mib} MiB limit" >&2
  exit 1
fi
