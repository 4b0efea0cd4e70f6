#!/usr/bin/env bash
# The comparisons of bench/REPRODUCTION.md as one command:
#
#   bench/reproduce.sh DATA OUT STEPS [ROWS...]
#
# trains every row on DATA (a dataset in the FOMM layout at 64x64) for STEPS steps of batch 4
# with seed 0, reconstructs every test video from its first frame (driving with frames 1..T-1,
# so that every method is scored on the same frames), and writes one table per comparison with
# `anima evaluate` (plus the foreground IoU when DATA has the synthetic ground truth, gt/test).
#
# ROWS (default: all) are any of
#   copy-source  the trivial baseline: every generated frame is the source frame
#   refined      the refined-mask model (configs/demo-64.yaml) and its test-time ablations
#                full, no_pert, no_ref, no_id (the paper's figure 3)
#   fomm adv unet prioritycut cutmix
#                the PriorityCut paper's table 4 on configs/fomm-shapes-64.yaml: FOMM, + global
#                adversarial term, + U-Net discriminator, + PriorityCut mixing, + vanilla CutMix
#
# OUT/<row>/ holds each run (log, checkpoint, reconstruction); OUT/times.csv the training wall
# times; OUT/table-*.md/.csv the tables. Rows already trained (a checkpoint of STEPS steps in
# OUT/<row>) are not trained again, so an interrupted reproduction can be resumed.
# ANIMA (default: build/anima when a GPU is visible, else build-cpu/anima) and DEVICE (default
# auto) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 3 ]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
DATA=$1 OUT=$2 STEPS=$3
shift 3
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(copy-source refined fomm adv unet prioritycut cutmix)
[ -d "$DATA/test" ] || { echo "reproduce: $DATA has no test/ folder (FOMM layout expected)" >&2; exit 1; }
if [ -z "${ANIMA:-}" ]; then  # as tools/demo.sh: the CUDA build when a GPU is visible
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then ANIMA=build/anima; else ANIMA=build-cpu/anima; fi
fi
DEVICE=${DEVICE:-auto}
[ -x "$ANIMA" ] || { echo "reproduce: $ANIMA not built (make, or make CUDA=0 build-cpu/anima)" >&2; exit 1; }
mkdir -p "$OUT/configs"
[ -f "$OUT/times.csv" ] || echo "row,steps,seconds" > "$OUT/times.csv"

# The FOMM configs: fomm-shapes-64 at batch 4 and a constant learning rate (no epoch_milestones,
# as configs/demo-64.yaml: every row trains STEPS steps at its base rate, whatever its config's
# epoch count), with the table-4 switches.
fomm_config() {
  local row=$1 file="$OUT/configs/$1.yaml"
  sed -e 's/batch_size: 8/batch_size: 4/' -e 's/epoch_milestones: \[.*\]/epoch_milestones: []/' \
    configs/fomm-shapes-64.yaml > "$file"
  grep -q 'epoch_milestones: \[\]' "$file" || { echo "reproduce: could not clear epoch_milestones in $file" >&2; exit 1; }
  if [ "$row" != fomm ]; then sed -i 's/generator_gan: 0/generator_gan: 1/' "$file"; fi
  local mix=""
  case $row in
    unet) mix=none ;;
    prioritycut) mix=prioritycut ;;
    cutmix) mix=cutmix ;;
  esac
  if [ -n "$mix" ]; then
    printf '\nprioritycut_params:\n  discriminator: unet\n  mix: %s\n  mix_probability: 0.5\n  consistency_weight: 1.0\n' \
      "$mix" >> "$file"
  fi
  echo "$file"
}

train_row() {  # row config
  local row=$1 config=$2 ckpt="$OUT/$1/checkpoint.safetensors"
  if [ -f "$ckpt" ] && grep -q "step $STEPS " "$OUT/$row/log.txt" 2>/dev/null; then
    echo "== reproduce: $row already trained for $STEPS steps"
    return
  fi
  echo "== reproduce: training $row ($config, $STEPS steps, seed 0)"
  rm -rf "${OUT:?}/$row"
  local start=$(date +%s)
  # --epochs far beyond STEPS: the run ends at --max-steps, not where its config's epochs end.
  "$ANIMA" train --config "$config" --data "$DATA" --out "$OUT/$row" --seed 0 --epochs 1000000 \
    --max-steps "$STEPS" --device "$DEVICE"
  echo "$row,$STEPS,$(( $(date +%s) - start ))" >> "$OUT/times.csv"
}

reconstruct_row() {  # row [ablation]
  local row=$1 ablation=${2:-} dir="$OUT/$1/reconstruction${2:+-$2}"
  "$ANIMA" reconstruct --checkpoint "$OUT/$row/checkpoint.safetensors" --data "$DATA" --out "$dir" \
    --first-driving 1 --max-videos 100000 --device "$DEVICE" ${ablation:+--ablation "$ablation"} >/dev/null
  echo "$dir/frames"
}

generated=() names=()
add() { generated+=(--generated "$1"); names+=(--name "$2"); }
for row in "${ROWS[@]}"; do
  case $row in
    copy-source)
      "$ANIMA" reconstruct --baseline copy-source --size 64 --data "$DATA" --out "$OUT/copy-source" \
        --max-videos 100000 --device "$DEVICE" >/dev/null
      add "$OUT/copy-source/frames" copy-source ;;
    refined)
      train_row refined configs/demo-64.yaml
      for a in full no_pert no_ref no_id; do add "$(reconstruct_row refined "$a")" "refined-mask $a"; done ;;
    fomm | adv | unet | prioritycut | cutmix)
      train_row "$row" "$(fomm_config "$row")"
      add "$(reconstruct_row "$row")" "$row" ;;
    *) echo "reproduce: unknown row '$row'" >&2; exit 2 ;;
  esac
done

gt=()
[ -d "$DATA/gt/test" ] && gt=(--synthetic-gt "$DATA/gt/test")
"$ANIMA" evaluate "${generated[@]}" "${names[@]}" --ground-truth "$DATA/test" --skip-gt-frames 1 "${gt[@]}" \
  --out "$OUT/table" --device "$DEVICE"
echo "== reproduce: $OUT/table.md, training times in $OUT/times.csv"
