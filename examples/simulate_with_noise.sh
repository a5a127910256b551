#!/usr/bin/env bash
# Simulate my system with noise: train a small SCLC (glyphs, no download; --dataset mnist with
# FOUROPTICS_DATA set), compile it phase-only for an 8-bit LCoS, run it on the misaligned noisy
# bench (EMVA 1288 camera noise, SLM LUT, misalignment) with and without its calibration, and
# sweep the light level. For your own system, copy examples/benches/misaligned_noisy.yaml and
# edit its `system:` block and devices (an `imperfections:` block draws hidden errors).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out}
BENCH=examples/benches/misaligned_noisy.yaml

fouroptics experiment classify --dataset glyphs --preset demo --out "$OUT/train" --threads 1
fouroptics compile --model "$OUT/train/sclc_kd/seed0" --system $BENCH --encoding double-phase \
  --slm holoeye_pluto2 --out "$OUT/compile"
fouroptics calibrate --bench $BENCH --out "$OUT/cal" --threads 1
fouroptics simulate --bundle "$OUT/compile/bundle.h5" --bench $BENCH --dataset glyphs \
  --limit 200 --out "$OUT/sim_raw"
fouroptics simulate --bundle "$OUT/compile/bundle.h5" --bench $BENCH --dataset glyphs \
  --calibration "$OUT/cal/calibration.h5" --limit 200 --out "$OUT/sim_cal"
fouroptics simulate --bundle "$OUT/compile/bundle.h5" --bench $BENCH --dataset glyphs \
  --calibration "$OUT/cal/calibration.h5" --limit 50 --sweep photons --seeds 0 1 \
  --out "$OUT/sweep"
# accuracy, feature NRMSE, photons per pixel, hardware estimate:
python -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['digital'], r['optical'])" \
  "$OUT/sim_cal/results.json"
