#!/usr/bin/env bash
# Proves the GPU check's fallback: building on the spot from the bundle's kit alone. In a private
# mount namespace the headers and libraries of the build's Debian packages are hidden (empty
# folders and /dev/null mounted over them), as on a GPU machine that has none of them; then
# `tools/gpu_check.sh --dry-run --build` must build anima with the kit and pass its steps.
#
#   tools/test_bundle_fallback.sh [BUNDLE_DIR]   (default gpu-bundle; needs root and unshare)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-gpu-bundle}
[ -f "$bundle/kit.tar.xz" ] || { echo "fallback: no $bundle/kit.tar.xz; run make gpu-bundle" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "fallback: needs root (mount namespaces)" >&2; exit 1; }
out=$(mktemp -d /tmp/anima-fallback.XXXXXX)
trap 'rm -rf "$out"' EXIT

unshare --mount --propagation private bash -s "$bundle" "$out" <<'EOF'
set -euo pipefail
bundle=$1 out=$2
empty=$(mktemp -d)
hide_dir() { [ -d "$1" ] && mount --bind "$empty" "$1"; return 0; }
hide_file() { [ -e "$1" ] && mount --bind /dev/null "$(readlink -f "$1")"; return 0; }
for d in /usr/include/doctest /usr/include/CLI /usr/include/stb /usr/include/yaml-cpp \
         /usr/include/x86_64-linux-gnu/openblas-pthread /usr/lib/x86_64-linux-gnu/openblas-pthread; do
  hide_dir "$d"
done
for f in /usr/lib/x86_64-linux-gnu/libyaml-cpp.a /usr/lib/x86_64-linux-gnu/libyaml-cpp.so \
         /usr/lib/x86_64-linux-gnu/libstb.a /usr/lib/x86_64-linux-gnu/libstb.so; do
  hide_file "$f"
done
# hidden indeed: a program that includes them no longer compiles here
if echo '#include <yaml-cpp/yaml.h>' | g++ -x c++ -fsyntax-only - 2>/dev/null; then
  echo "fallback: yaml-cpp is still visible" >&2; exit 1
fi
bash tools/gpu_check.sh --dry-run --build --bundle "$bundle" --out "$out" --budget 900
EOF
grep -q 'built on the spot' "$out/summary.txt" || tar -xzOf "$out/logs.tar.gz" logs/setup.log | tail -30
grep -q '^setup .*PASS.*built on the spot' "$out/summary.txt" || { echo "fallback: the on-the-spot build failed" >&2; exit 1; }
echo "fallback: ok (built from the kit alone)"
