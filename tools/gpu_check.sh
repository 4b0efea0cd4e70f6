#!/usr/bin/env bash
# The GPU check: one command that verifies and times anima's CUDA half on a borrowed GPU machine
# (an H200) within about 8 minutes, from the repository plus the bundle of `make gpu-bundle`.
#
#   tools/gpu_check.sh [--dry-run] [--build] [--out DIR] [--bundle DIR] [--budget SECONDS]
#   (--build: build on the spot from the bundle's kit even if the prebuilt binaries start)
#
# Steps (each with its own time cap, one result line, and its full log kept):
#   setup      unpack the bundle, find cuBLAS/cuDNN (PyTorch's pip packages, then the CUDA
#              toolkit), check that the binaries start; else build on the spot from the bundle's kit
#   device     anima info and nvidia-smi -L
#   tests      the whole test suite with GPU tests required (a skipped GPU test is a failure)
#   memcheck   compute-sanitizer memcheck over the CUDA-vs-CPU parity cases of anima's own kernels
#              (the conv2d, batch_norm and matmul cases, which run cuDNN and cuBLAS, are left out:
#              their kernels are not ours, and under memcheck they cost most of the step's time)
#   racecheck  compute-sanitizer racecheck over the parity cases of the shared-memory kernels
#              (kernels/reduce.cu and select.cu: reductions, softmax, median and percentile, P_train, P_test)
#   bench-ops, bench-kernels   anima bench at batch 16, CUDA events, beside the measured ceilings
#   bench-fomm      FOMM vox-256: training step at batch 16 (peak memory), animation at batch 1, 32
#   bench-refined   refined-mask vox-256: training step at batch 16
#   torch      bench/torch_ops.py: PyTorch on the same GPU at the same shapes; anima/torch ratios
#   train      200 GPU steps of configs/demo-64.yaml (steps/s), and the first losses of a strict
#              FP32 GPU run beside the CPU's for the same seed
# A summary table (step, result, seconds, key figure) comes last. Files under --out (default
# $OUT, else ./gpu-check-out): summary.txt, results.md (rows for bench/RESULTS.md), logs.tar.gz
# (every step's log and CSV).
#
# --dry-run, for a machine without a GPU (CI): every step that needs no GPU runs (setup, device,
# the CPU test cases, a small CPU benchmark through the CSV and ratio code, the CPU side of the
# training comparison); every GPU step is reported as skipped with its reason; exit status 0
# unless something that ran failed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dry_run=0
force_build=0
out=${OUT:-$repo/gpu-check-out}
bundle=$repo/gpu-bundle
budget=470  # seconds for all steps; a step that would start after this is skipped
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1 ;;
    --build) force_build=1 ;;
    --out) out=$2; shift ;;
    --bundle) bundle=$2; shift ;;
    --budget) budget=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

work=$(mktemp -d /tmp/anima-gpu-check.XXXXXX)
logs=$work/logs
mkdir -p "$logs" "$out"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
t_start=$(date +%s)
cd "$repo"

# ---------------------------------------------------------------- step bookkeeping
names=() results=() seconds=() keys=()
failed=0
record() {  # name result seconds key
  names+=("$1"); results+=("$2"); seconds+=("$3"); keys+=("$4")
  printf '[gpu_check] %-14s %-8s %6s s  %s\n' "$1" "$2" "$3" "$4"
  [ "$2" = FAIL ] || [ "$2" = TIMEOUT ] && failed=1
  return 0
}
skip() { record "$1" SKIP 0 "$2"; }
elapsed() { echo $(( $(date +%s) - t_start )); }

# run_step NAME CAP_SECONDS KEY_FUNCTION COMMAND...: runs COMMAND under a time cap with its output
# in $logs/NAME.log; KEY_FUNCTION (given the log and the exit status) prints the key figure and
# returns 0 for a pass.
run_step() {
  local name=$1 cap=$2 keyfn=$3; shift 3
  if [ "$(elapsed)" -ge "$budget" ]; then
    skip "$name" "time budget of ${budget} s spent"
    return 1
  fi
  local t0 rc key result
  t0=$(date +%s.%N)
  if [ "$(type -t "$1")" = function ]; then
    # a step written as a function of this script: run by a child bash (the functions and
    # variables it uses are exported below), so that timeout can stop it
    timeout -k 10 "$cap" bash -c '"$@"' "$name" "$@" > "$logs/$name.log" 2>&1
  else
    timeout -k 10 "$cap" "$@" > "$logs/$name.log" 2>&1
  fi
  rc=$?
  local dt
  dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  key=$("$keyfn" "$logs/$name.log" "$rc" 2>/dev/null)
  local ok=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    result=TIMEOUT
    key="over its ${cap} s cap; ${key}"
  elif [ $ok = 0 ]; then
    result=PASS
  elif [ $ok = 2 ]; then
    result=SKIP
  else
    result=FAIL
  fi
  record "$name" "$result" "$dt" "$key"
  [ "$result" = PASS ]
}

# ---------------------------------------------------------------- setup
gpu=0  # decided after setup, from anima's own report
no_gpu_reason="no GPU (--dry-run)"

# cuBLAS and cuDNN: PyTorch's pip packages first (nvidia/<lib>/lib under site-packages), then the
# CUDA toolkit. anima opens them through LD_LIBRARY_PATH (kernels/cuda_libraries.h).
find_cuda_libraries() {
  local dirs=() sp
  for py in python3 /opt/torch/.venv/bin/python3; do
    command -v "$py" > /dev/null 2>&1 || continue
    sp=$("$py" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null) || continue
    while read -r d; do
      [ -d "$d/nvidia" ] || continue
      # The folders that hold the two libraries, whatever the wheels' layout (nvidia/cublas/lib,
      # nvidia/cudnn/lib, or one nvidia/cu13/lib for the CUDA 13 wheels).
      while read -r f; do dirs+=("$(dirname "$f")"); done < <(find "$d/nvidia" -maxdepth 3 \
        \( -name 'libcublas.so.13' -o -name 'libcublasLt.so.13' -o -name 'libcudnn.so.9' -o -name 'libnvrtc.so.13' \
        -o -name 'libnvJitLink.so.13' \) 2>/dev/null)
    done <<< "$sp"
  done
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && dirs+=("$d"); done
  local joined=""
  for d in "${dirs[@]}"; do case ":$joined:" in *":$d:"*) ;; *) joined=${joined:+$joined:}$d ;; esac; done
  echo "$joined"
}

setup() {
  echo "repository: $repo ($(git -C "$repo" describe --always --dirty 2>/dev/null || echo 'no git'))"
  echo "bundle: $bundle"
  [ -f "$bundle/MANIFEST.txt" ] && cat "$bundle/MANIFEST.txt"
  local libs
  libs=$(find_cuda_libraries)
  export LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  for so in libcublas.so.13 libcublasLt.so.13 libcudnn.so.9; do
    local found=""
    IFS=: read -ra ds <<< "$LD_LIBRARY_PATH"
    for d in "${ds[@]}"; do [ -e "$d/$so" ] && { found=$(readlink -f "$d/$so"); break; }; done
    echo "uses $so: ${found:-NOT FOUND}"
  done
  echo "glibc here: $(ldd --version 2>/dev/null | head -1)"
  bin=$work/bin
  if [ -f "$bundle/bin.tar.xz" ]; then
    tar -C "$work" -xJf "$bundle/bin.tar.xz" || return 1
  elif [ -x "$repo/build-bundle/anima" ]; then
    mkdir -p "$bin" && cp "$repo/build-bundle/anima" "$repo/build-bundle/anima_tests" "$bin/"
  else
    echo "no bundle: run make gpu-bundle first"; return 1
  fi
  if [ $force_build = 0 ]; then
    if "$bin/anima" info; then
      echo "prebuilt binaries start"
      return 0
    fi
    echo "the prebuilt binaries do not start here; building on the spot from the kit"
  else
    echo "--build: building on the spot from the kit"
  fi
  [ -f "$bundle/kit.tar.xz" ] || { echo "no kit.tar.xz in the bundle"; return 1; }
  command -v nvcc > /dev/null || { echo "no nvcc on PATH"; return 1; }
  tar -C "$work" -xJf "$bundle/kit.tar.xz" || return 1
  local cuda_home
  cuda_home=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  make -C "$repo" -j"$(nproc)" CUDA=1 CUDA_ARCH=90 VIDEO=0 STATIC=1 DEPS=0 CUDA_HOME="$cuda_home" \
    BUILD_DIR="$work/build" EXTRA_CXXFLAGS="-isystem $work/kit/include" \
    EXTRA_NVCCFLAGS="-isystem $work/kit/include" EXTRA_LDFLAGS="-L$work/kit/lib" all || return 1
  mkdir -p "$bin" && cp "$work/build/anima" "$work/build/anima_tests" "$bin/"
  "$bin/anima" info && echo "built on the spot: binaries start"
}
key_setup() {
  local how
  how=$(grep -q "built on the spot" "$1" && echo "built on the spot" || echo "prebuilt binaries")
  [ "$2" = 0 ] && { echo "$how; cuBLAS $(grep -o 'uses libcublas.so.13: .*' "$1" | cut -d' ' -f3)"; return 0; }
  echo "binaries unusable: $(tail -1 "$1")"; return 1
}
bin=$work/bin
# setup runs in this shell, not under run_step: the LD_LIBRARY_PATH it exports serves every step.
t0=$(date +%s.%N)
setup > "$logs/setup.log" 2>&1
rc=$?
record setup "$([ $rc = 0 ] && echo PASS || echo FAIL)" \
  "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$(key_setup "$logs/setup.log" $rc)"
if [ $rc != 0 ]; then
  echo "gpu_check: setup failed; its log:"; cat "$logs/setup.log"
fi
export ANIMA_SOURCE_DIR=$repo
A=$bin/anima
T=$bin/anima_tests
# Whether a GPU is usable: anima's own report decides (nvidia-smi may be missing or disagree).
# GPU_CHECK_ASSUME_GPU=1 takes the GPU path without a GPU, to test this script's own flow on a
# machine without one (its GPU steps then fail, each with its reason); never for results.
if [ $dry_run = 0 ] && [ $rc = 0 ]; then
  if [ "${GPU_CHECK_ASSUME_GPU:-0}" = 1 ] || "$A" info 2>/dev/null | grep -q '^device: .*; GPU: '; then
    gpu=1
  else
    gpu=0
    no_gpu_reason="no GPU: $("$A" info 2>/dev/null | grep '^device:' | sed 's/^device: //' | cut -c1-100)"
  fi
fi

# ---------------------------------------------------------------- the steps
device_report() {
  "$A" info || return 1
  if command -v nvidia-smi > /dev/null 2>&1; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  else
    echo "nvidia-smi: not installed"
  fi
}
key_device() {
  [ "$2" = 0 ] || { echo "anima info failed"; return 1; }
  local d
  d=$(grep '^device:' "$1" | cut -d' ' -f2-)
  echo "$d" | cut -c1-110
  if [ $gpu = 1 ]; then echo "$d" | grep -q '; GPU: ' || return 1; fi
  return 0
}

key_tests() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  [ -n "$line" ] || { echo "no result line (exit $2)"; return 1; }
  local f
  f=$(echo "$line" | awk '{print $3}')
  if [ $gpu = 0 ]; then
    echo "GPU cases not run ($no_gpu_reason); CPU: $line"
    [ "$f" = 0 ] && return 2 || return 1
  fi
  echo "$line (the skips: video IO, absent in the bundle)"
  [ "$f" = 0 ] && [ "$2" = 0 ]
}

key_sanitizer() {
  if grep -q "Device not supported\|Failed to initialize\|not supported on this" "$1"; then
    echo "compute-sanitizer cannot run here: $(grep -m1 -o 'Device not supported.*\|Failed to initialize.*' "$1")"
    return 2
  fi
  local summary n
  # memcheck: "ERROR SUMMARY: N errors"; racecheck: "RACECHECK SUMMARY: H hazards displayed (E errors, W warnings)"
  summary=$(grep -m1 -o 'RACECHECK SUMMARY: .*' "$1")
  if [ -n "$summary" ]; then
    n=$(echo "$summary" | sed -E 's/.*\(([0-9]+) error.*/\1/')
  else
    summary=$(grep -m1 -o 'ERROR SUMMARY: [0-9]* error[s]*' "$1")
    n=$(echo "$summary" | awk '{print $3}')
  fi
  [ -n "$summary" ] || { echo "no summary (exit $2)"; return 1; }
  local tests
  tests=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  [ -n "$tests" ] && summary="$summary; tests: $tests"
  # the cases must have run (GPU required) and passed under the sanitizer
  if [ -z "$tests" ] || [ "$(echo "$tests" | awk '{print $1}')" = 0 ] || [ "$(echo "$tests" | awk '{print $3}')" != 0 ]; then
    echo "$summary (the cases did not all run and pass)"
    return 1
  fi
  if [ "$n" = 0 ]; then echo "clean ($summary)"; return 0; fi
  echo "$summary: $(grep -m3 -E '^========= (Invalid|Race|Error|Uninitialized)' "$1" | sed 's/=========//' | tr '\n' ';' | cut -c1-160)"
  return 1
}

# The line that says why a command failed: its error message, else its last line.
failure_line() { { grep -m1 -E 'error|Error|FAIL' "$1" || tail -1 "$1"; } | cut -c1-140; }

key_bench() {
  [ "$2" = 0 ] || { echo "exit $2: $(failure_line "$1")"; return 1; }
  local c
  c=$(grep -m1 'ceilings measured now' "$1" | sed 's/ceilings measured now: //')
  echo "$(grep -cE '^[a-zA-Z].* [0-9]+\.[0-9]+ +[0-9]+%' "$1") ops; $c"
}

key_model() {
  [ "$2" = 0 ] || { echo "exit $2: $(failure_line "$1")"; return 1; }
  local step anim
  step=$(grep -m1 '^training step:' "$1" | sed -E 's/training step: ([0-9.]+ ms).*peak memory ([0-9.]+ MiB)/step \1, peak \2/')
  anim=$(grep '^animation:' "$1" | sed -E 's/animation: ([0-9.]+) frames\/s \(batch ([0-9]+).*/\1 f\/s @\2/' | tr '\n' ' ')
  echo "$step; $anim"
}

torch_python() {
  for py in python3 /opt/torch/.venv/bin/python3; do
    if command -v "$py" > /dev/null 2>&1 && "$py" -c 'import torch' > /dev/null 2>&1; then echo "$py"; return 0; fi
  done
  return 1
}

# torch_side CSV DEVICE BATCH [FILTER]: PyTorch's timings, then the anima/torch table.
torch_side() {
  local py
  py=$(torch_python) || { echo "torch: not installed"; return 3; }
  "$py" "$repo/bench/torch_ops.py" --device "$2" --batch "$3" ${4:+--filter "$4"} --csv "$work/torch.csv" || return 1
  "$py" "$repo/bench/compare_bench.py" "$1" "$work/torch.csv"
}
key_torch() {
  if grep -q '^torch: not installed' "$1"; then echo "PyTorch not installed here"; return 2; fi
  [ "$2" = 0 ] || { echo "exit $2: $(failure_line "$1")"; return 1; }
  grep -m1 '^ratios:' "$1" | sed 's/^ratios: //'
}

# train_side: the 200-step GPU run (steps/s), then 5 strict-FP32 steps on the GPU and on the CPU
# with the same seed, compared loss by loss.
train_side() {
  local data=$work/puppets-64 n_gpu=200
  "$A" make-dataset --out "$data" --size 64 --videos 120 --frames 24 --seed 1 --puppet-scale 1.8 --drift 3 \
    --plain-background || return 1
  if [ $gpu = 1 ]; then
    "$A" train --config configs/demo-64.yaml --data "$data" --device cuda --seed 1 --max-steps $n_gpu \
      --log-every 50 --quiet --out "$work/train-gpu" || return 1
    "$A" train --config configs/demo-64.yaml --data "$data" --device cuda --seed 1 --max-steps 5 --log-every 1 \
      --quiet --tf32 off --out "$work/train-gpu-fp32" || return 1
  fi
  "$A" train --config configs/demo-64.yaml --data "$data" --device cpu --seed 1 --max-steps 5 --log-every 1 \
    --quiet --out "$work/train-cpu" || return 1
  for d in "$work"/train-*; do cp "$d/log.txt" "$logs/$(basename "$d").log.txt"; done
  compare_losses "$work/train-cpu/log.txt" "$work/train-gpu-fp32/log.txt"
}
# The same weights (Philox draws them alike on both devices), the same batches and random draws:
# the first step's losses differ only by the order of float sums (cuDNN's algorithms against the
# CPU's loops), so they must agree to 1e-3 relative; later steps drift apart as the updates
# amplify those differences, and are reported, not judged.
compare_losses() {
  echo "loss comparison, demo-64, seed 1, strict FP32: CPU | GPU | relative difference"
  if [ ! -f "$2" ]; then
    grep -E '^epoch [0-9]+ step [0-9]+ ' "$1" | sed 's/^/  CPU only: /'
    echo "loss check: GPU side not run"
    return 0
  fi
  awk '
    FNR == 1 { file++ }
    /^epoch [0-9]+ step [0-9]+ / {
      for (i = 5; i < NF; i += 2) v[file, $4, $i] = $(i + 1)
      if (file == 1) { steps[$4] = 1; for (i = 5; i < NF; i += 2) terms[$i] = 1 }
    }
    END {
      worst1 = 0
      for (s = 1; s in steps; s++) for (t in terms) {
        a = v[1, s, t]; b = v[2, s, t]; d = (a == 0 ? 0 : (b - a) / a); if (d < 0) d = -d
        printf "  step %d %-12s %10s | %10s | %.2e\n", s, t, a, b, d
        if (s == 1 && d > worst1) worst1 = d
      }
      printf "loss check: worst first-step relative difference %.2e (tolerance 1e-3) %s\n", worst1, (worst1 <= 1e-3 ? "ok" : "TOO LARGE")
      exit (worst1 <= 1e-3 ? 0 : 1)
    }' "$1" "$2"
}
key_train() {
  [ "$2" = 0 ] || { echo "exit $2: $(grep -m1 'loss check.*LARGE' "$1" || failure_line "$1")"; return 1; }
  local rate check
  rate=$(grep -m1 -o '200 in [0-9.]* s, [0-9.]* steps/s' "$1")
  check=$(grep -m1 '^loss check' "$1" | sed 's/loss check: //')
  if [ $gpu = 0 ]; then echo "GPU run not done ($no_gpu_reason); CPU losses logged; $check"; return 2; fi
  echo "${rate:-no rate}; $check"
}

export A T work logs gpu repo no_gpu_reason
export -f device_report torch_python torch_side train_side compare_losses

if [ $rc = 0 ]; then
  run_step device 30 key_device device_report

  if [ $gpu = 1 ]; then
    run_step tests 150 key_tests env ANIMA_REQUIRE_GPU=1 "$T"
    san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
    if [ -n "$san" ]; then
      run_step memcheck 75 key_sanitizer env ANIMA_REQUIRE_GPU=1 "$san" --tool memcheck --error-exitcode 0 "$T" -tc='CUDA-vs-CPU parity*' \
        -tce='*parity: conv2d*,*parity: batch_norm*,*parity: matmul*'
      run_step racecheck 45 key_sanitizer env ANIMA_REQUIRE_GPU=1 "$san" --tool racecheck --error-exitcode 0 "$T" \
        -tc='CUDA-vs-CPU parity: sum*,CUDA-vs-CPU parity: mean*,CUDA-vs-CPU parity: amax*,CUDA-vs-CPU parity: softmax*,CUDA-vs-CPU parity: log_softmax*,CUDA-vs-CPU parity: kth_smallest*,CUDA-vs-CPU parity: mask_noise*,CUDA-vs-CPU parity: perturb*,CUDA-vs-CPU parity: prioritycut*'
    else
      skip memcheck "compute-sanitizer not found"
      skip racecheck "compute-sanitizer not found"
    fi
    run_step bench-ops 60 key_bench "$A" bench ops --device cuda --batch 16 --csv "$work/anima.csv"
    run_step bench-kernels 60 key_bench "$A" bench kernels --device cuda --batch 16 --csv "$work/anima.csv"
    run_step bench-fomm 75 key_model "$A" bench model --config configs/vox-256.yaml --device cuda --batch 16 \
      --anim-batch 1,32 --steps 5
    run_step bench-refined 60 key_model "$A" bench model --config configs/refined-mask-vox-256.yaml --device cuda \
      --batch 16 --anim-batch 1,16 --steps 5
    run_step torch 90 key_torch torch_side "$work/anima.csv" cuda 16
  else
    run_step tests 300 key_tests "$T"
    skip memcheck "$no_gpu_reason"
    skip racecheck "$no_gpu_reason"
    # The CSV and ratio code, on two small CPU ops; the GPU benchmarks are skipped.
    run_step bench-ops 60 key_bench "$A" bench ops --device cpu --batch 1 --repeats 3 --filter relu \
      --csv "$work/anima.csv"
    skip bench-kernels "$no_gpu_reason"
    skip bench-fomm "$no_gpu_reason"
    skip bench-refined "$no_gpu_reason"
    run_step torch 120 key_torch torch_side "$work/anima.csv" cpu 1 relu
  fi
  run_step train 120 key_train train_side
fi

# ---------------------------------------------------------------- summary and files
total=$(elapsed)
{
  echo
  echo "anima GPU check, $(date -u +%Y-%m-%d) on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo 'no GPU')$([ $dry_run = 1 ] && echo ' (dry run)')"
  printf '%-14s %-8s %7s  %s\n' step result seconds "key figure"
  for i in "${!names[@]}"; do
    printf '%-14s %-8s %7s  %s\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}" "${keys[$i]}"
  done
  echo "total: ${total} s; $([ $failed = 0 ] && echo 'no step failed' || echo 'FAILURES above')"
} | tee "$out/summary.txt"

{
  echo "### GPU check, $(date -u +%Y-%m-%d): \`tools/gpu_check.sh\`$([ $dry_run = 1 ] && echo ' --dry-run')"
  echo
  grep -m1 '^device:' "$logs/device.log" 2>/dev/null | sed 's/^/- /'
  grep -m1 '^GPU libraries:' "$logs/device.log" 2>/dev/null | sed 's/^/- /'
  echo "- commit $(git -C "$repo" describe --always --dirty 2>/dev/null)"
  echo
  echo "| step | result | s | key figure |"
  echo "|---|---|---|---|"
  for i in "${!names[@]}"; do echo "| ${names[$i]} | ${results[$i]} | ${seconds[$i]} | ${keys[$i]//|//} |"; done
  if [ -f "$logs/torch.log" ]; then echo; sed -n '/^| op /,/^$/p' "$logs/torch.log"; fi
} > "$out/results.md"
cp "$work"/*.csv "$logs/" 2>/dev/null
tar -C "$work" -czf "$out/logs.tar.gz" logs
echo "gpu_check: files in $out: summary.txt results.md logs.tar.gz"
exit $failed
