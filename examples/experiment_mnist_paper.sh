#!/usr/bin/env bash
# The MNIST experiments of the SCLC + KD study (arXiv 2102.13323), as run for the report.
# Needs FOUROPTICS_DATA pointing at a folder holding mnist/ (t10k IDX files: train on the
# first 8,000, test on the last 2,000). Replace --dataset mnist by --dataset glyphs to run
# without any data files. Use --threads 1 per process on a shared machine: oversubscribed
# torch threads were 5-10x slower than one thread here.
set -euo pipefail
OUT=${1:-runs}
FO="python -m fouroptics.nn.commands"

# 1. quick check (< 10 min on 2 cores)
$FO experiment classify --dataset mnist --preset quick --out "$OUT/quick"

# 2. paper preset, ideal detection (real part), T = 10, alpha = 0.5, 3 seeds
$FO experiment classify --dataset mnist --preset paper --detection ideal --out "$OUT/paper_ideal"

# 3. intensity detection: reuse the trained teachers (--resume loads finished models)
mkdir -p "$OUT/paper_intensity" && cp -r "$OUT/paper_ideal/teacher" "$OUT/paper_intensity/"
$FO experiment classify --dataset mnist --preset paper --detection intensity \
  --out "$OUT/paper_intensity" --resume

# 4. KD tuning on a validation split (1,000 of the 8,000 training images), never the test set
for cfg in "10 0.5 0" "4 0.5 0" "4 0.9 0" "2 0.5 0" "10 0.9 0" "4 0.5 0.5"; do
  set -- $cfg
  $FO experiment classify --dataset mnist --val 1000 --seeds 0 --preset quick \
    --teacher-epochs 6 --student-epochs 20 -T "$1" --alpha "$2" --feature-weight "$3" \
    --out "$OUT/tune_T$1_a$2_fw$3"
done

# 5. the selected setting on the test set (students only; teachers and plain SCLC reused)
mkdir -p "$OUT/paper_ideal_tuned" && cp -r "$OUT/paper_ideal/teacher" "$OUT/paper_ideal/sclc" \
  "$OUT/paper_ideal_tuned/"
$FO experiment classify --dataset mnist --preset paper --detection ideal -T 4 --alpha 0.5 \
  --feature-weight 0.5 --out "$OUT/paper_ideal_tuned" --resume

# 6. segmentation canvases (64x64, 1-3 digits) and the input-resolution sweep
$FO experiment segment --dataset mnist --preset quick --detection intensity --out "$OUT/segment"
$FO experiment resolution --dataset mnist --preset quick --out "$OUT/resolution"

# 7. the selected KD setting with intensity detection (teachers and plain SCLC reused)
mkdir -p "$OUT/paper_intensity_tuned" && cp -r "$OUT/paper_intensity/teacher" \
  "$OUT/paper_intensity/sclc" "$OUT/paper_intensity_tuned/"
$FO experiment classify --dataset mnist --preset paper --detection intensity -T 4 --alpha 0.5 \
  --feature-weight 0.5 --out "$OUT/paper_intensity_tuned" --resume
