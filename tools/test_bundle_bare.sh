#!/usr/bin/env bash
# Proves that the GPU-check bundle's binaries start with nothing but the bundle and a base system:
# in a minimal Debian root made with debootstrap (no -dev packages, no CUDA toolkit, no cuBLAS or
# cuDNN) `anima info` must exit 0 reporting no GPU and the missing GPU libraries, and the test
# binary must pass every CPU test case (GPU cases and video cases are reported as skipped).
#
#   tools/test_bundle_bare.sh [BUNDLE_DIR]   (default gpu-bundle; needs root, debootstrap, a mirror)
# The root is made once in $BARE_ROOT (default /tmp/anima-bare-root) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-gpu-bundle}
root=${BARE_ROOT:-/tmp/anima-bare-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ -f "$bundle/bin.tar.xz" ] || { echo "bare root: no $bundle/bin.tar.xz; run make gpu-bundle" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bare root: needs root (debootstrap, chroot)" >&2; exit 1; }
if ! command -v debootstrap > /dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap > /dev/null
fi
if [ ! -x "$root/usr/bin/env" ]; then
  echo "bare root: debootstrap --variant=minbase bookworm $root"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" > /tmp/anima-debootstrap.log 2>&1 ||
    { tail -20 /tmp/anima-debootstrap.log; exit 1; }
fi
# What a bare machine lacks: no headers of the build's libraries, no CUDA anywhere.
for absent in usr/include/cblas.h usr/include/yaml-cpp usr/include/libavcodec usr/local/cuda; do
  [ ! -e "$root/$absent" ] || { echo "bare root: $root/$absent exists; the root is not bare" >&2; exit 1; }
done
if find "$root" -xdev \( -name 'libcublas*' -o -name 'libcudnn*' -o -name 'libcudart*' -o -name 'libopenblas*' \
     -o -name 'libgomp*' -o -name 'libavcodec*' -o -name 'libyaml-cpp*' \) | grep -q .; then
  echo "bare root: a library the bundle must not rely on is present" >&2; exit 1
fi

rm -rf "$root/anima"
mkdir -p "$root/anima/src/tests"
tar -C "$root/anima" -xJf "$bundle/bin.tar.xz"
cp -r configs "$root/anima/src/"
cp -r tests/golden "$root/anima/src/tests/"
mounted=0
cleanup() { [ $mounted = 1 ] && umount "$root/proc" 2>/dev/null; rm -rf "$root/anima"; }
trap cleanup EXIT
mount -t proc proc "$root/proc" && mounted=1

echo "bare root: anima info"
info=$(chroot "$root" /anima/bin/anima info)
echo "$info"
echo "$info" | grep -q 'no usable GPU' || { echo "bare root: anima info did not report the missing GPU" >&2; exit 1; }
echo "$info" | grep -q 'cuBLAS not loaded (cannot load libcublas' ||
  { echo "bare root: anima info did not report the missing cuBLAS" >&2; exit 1; }

echo "bare root: anima_tests (CPU cases)"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root ANIMA_SOURCE_DIR=/anima/src \
  /bin/sh -c 'cd /anima/src && /anima/bin/anima_tests' > /tmp/anima-bare-tests.log 2>&1 || true
tail -4 /tmp/anima-bare-tests.log
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/anima-bare-tests.log | tail -1)
[ -n "$line" ] || { echo "bare root: the test binary printed no result line" >&2; cat /tmp/anima-bare-tests.log | tail -40; exit 1; }
failed=$(echo "$line" | awk '{print $3}')
[ "$failed" = 0 ] || { grep -B2 -A8 'ERROR' /tmp/anima-bare-tests.log | head -60; exit 1; }
echo "bare root: ok ($line)"
