#!/usr/bin/env bash
# `make demo`: the whole system in one command on a fresh machine. Builds anima (with CUDA when a
# GPU is visible, else CPU-only, which compiles faster), writes the synthetic puppet dataset,
# trains the small refined-masking model of configs/demo-64.yaml, animates a test puppet with
# the motion of another identity's test video, reconstructs the test videos and scores them.
# Everything lands in runs/demo/ (see README, "Quick start").
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEMO_DATA:-data/puppets-64}
OUT=${DEMO_OUT:-runs/demo}
CONFIG=${DEMO_CONFIG:-configs/demo-64.yaml}
SEED=${DEMO_SEED:-0}
# Training length: the config's 60 epochs of 60 steps (3600 steps, about 10 minutes on 2 CPU
# cores). DEMO_EPOCHS overrides it (bench/REPRODUCTION.md has the metrics at every budget
# measured).
EPOCHS=${DEMO_EPOCHS:-}

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  make all
  ANIMA=build/anima
else
  echo "demo: no GPU visible: building CPU-only (make CUDA=0); training ${EPOCHS:-the configured number of} epochs" \
       "(DEMO_EPOCHS=N to change it)"
  make CUDA=0 build-cpu/anima
  ANIMA=build-cpu/anima
fi

step() { printf '\n== demo: %s\n' "$*"; }
start=$(date +%s)

if [ ! -d "$DATA/train" ]; then
  step "synthetic dataset -> $DATA"
  # Large puppets (limbs a few mask pixels wide at 64x64) that travel across a plain background.
  "$ANIMA" make-dataset --out "$DATA" --size 64 --videos 120 --frames 24 --seed "$SEED" \
    --puppet-scale 1.8 --drift 3 --plain-background
fi

step "training $CONFIG (seed $SEED) -> $OUT"
rm -rf "$OUT"
"$ANIMA" train --config "$CONFIG" --data "$DATA" --out "$OUT" --seed "$SEED" ${EPOCHS:+--epochs "$EPOCHS"}

# A test source and a driving video of another identity (names are <identity>#<clip>).
mapfile -t tests < <(ls "$DATA/test" | sort)
source_video=${tests[0]}
driving_video=""
for t in "${tests[@]}"; do
  if [ "${t%%#*}" != "${source_video%%#*}" ]; then driving_video=$t; break; fi
done
[ -n "$driving_video" ] || { echo "demo: the test split has a single identity" >&2; exit 1; }

step "animating $source_video (frame 0) with the motion of $driving_video"
"$ANIMA" animate --checkpoint "$OUT/checkpoint.safetensors" --source "$DATA/test/$source_video" \
  --driving "$DATA/test/$driving_video" --side-by-side --out "$OUT/animation.mp4" --grid "$OUT/frames.png"
"$ANIMA" animate --checkpoint "$OUT/checkpoint.safetensors" --source "$DATA/test/$source_video" \
  --driving "$DATA/test/$driving_video" --figure-row --out "$OUT/animation_masks.mp4"
# The same model with the driver's mask m(d) given to the generators directly (the paper's no_id
# ablation at test time: no P_test, no r): what the generators do with a clean driving mask, and
# the driver's body shape that P_test and r exist to remove.
"$ANIMA" animate --checkpoint "$OUT/checkpoint.safetensors" --source "$DATA/test/$source_video" \
  --driving "$DATA/test/$driving_video" --ablation no_id --side-by-side --out "$OUT/animation_no_id.mp4" \
  --grid "$OUT/frames_no_id.png"

step "reconstructing every test video from its first frame"
"$ANIMA" reconstruct --checkpoint "$OUT/checkpoint.safetensors" --data "$DATA" --out "$OUT/reconstruction"

step "metrics of the reconstructions (L1, PSNR, SSIM, foreground IoU)"
"$ANIMA" evaluate --generated "$OUT/reconstruction/frames" --name refined-mask --ground-truth "$DATA/test" \
  --skip-gt-frames 1 --synthetic-gt "$DATA/gt/test" --out "$OUT/metrics"

cat <<DONE

== demo: done in $(( $(date +%s) - start )) s (after the build). In $OUT:
  animation.mp4        source | driving | result, $source_video driven by $driving_video
  animation_masks.mp4  the paper's figure-3 row per frame: s | m_s | d | m(d) | P_test(m(d)) | m_d | c | f
  frames.png           that row for 6 frames of the animation
  animation_no_id.mp4  the same, with the driver's mask fed to the generators directly (no P_test, no r);
  frames_no_id.png     its 6-frame row
  curves.png           the training curves (log.txt has the numbers)
  metrics.md/.csv      reconstruction metrics of the test videos
  checkpoint.safetensors, vis/ (one picture per epoch), reconstruction/
DONE
