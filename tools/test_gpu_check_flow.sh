#!/usr/bin/env bash
# Tests the GPU path of tools/gpu_check.sh on a machine without a GPU: with GPU_CHECK_ASSUME_GPU=1
# every GPU step runs and must fail with its reason (no usable GPU), no step may be left without
# a result row, and the files must be written; the exit status must say that steps failed. A
# stand-in compute-sanitizer (which just runs the program) exercises the sanitizer steps' parsing.
#
#   tools/test_gpu_check_flow.sh [BUNDLE_DIR]   (default gpu-bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-gpu-bundle}
tmp=$(mktemp -d /tmp/anima-gpu-flow.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
cat > "$tmp/bin/compute-sanitizer" <<'SAN'
#!/bin/sh
# stand-in: drop "--tool X --error-exitcode N", run the program, print a clean summary
shift 4
"$@"
echo "========= ERROR SUMMARY: 0 errors"
SAN
chmod +x "$tmp/bin/compute-sanitizer"
set +e
PATH="$tmp/bin:$PATH" GPU_CHECK_ASSUME_GPU=1 bash tools/gpu_check.sh --bundle "$bundle" --out "$tmp/out" > "$tmp/log" 2>&1
rc=$?
set -e
tail -16 "$tmp/log"
[ "$rc" = 1 ] || { echo "gpu flow: exit status $rc, expected 1 (steps failed)" >&2; exit 1; }
for f in summary.txt results.md logs.tar.gz; do
  [ -s "$tmp/out/$f" ] || { echo "gpu flow: $f not written" >&2; exit 1; }
done
for step in setup device tests memcheck racecheck bench-ops bench-kernels bench-fomm bench-refined torch train; do
  row=$(grep -E "^$step +" "$tmp/out/summary.txt") || { echo "gpu flow: no row for $step" >&2; exit 1; }
  case $step in
    setup) echo "$row" | grep -q ' PASS ' || { echo "gpu flow: setup did not pass: $row" >&2; exit 1; } ;;
    torch) echo "$row" | grep -qE ' (FAIL|SKIP) ' || { echo "gpu flow: $step: $row" >&2; exit 1; } ;;
    *) echo "$row" | grep -q ' FAIL ' || { echo "gpu flow: $step did not fail without a GPU: $row" >&2; exit 1; } ;;
  esac
done
echo "gpu flow: ok (every GPU step ran and failed with its reason; files written)"
