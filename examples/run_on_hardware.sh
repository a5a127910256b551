#!/usr/bin/env bash
# Run a compiled bundle on a real bench. The bench YAML names slmsuite drivers (copy
# examples/benches/slmsuite_hardware.yaml); the bundle must have been compiled for that YAML's
# system (simulate and finetune refuse a bundle made for another system).
# The generic Bench shows each frame's Fourier mask once, every image on the input SLM, captures,
# and reads the features out through the bundle's recipe and the calibration's registration.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${1:?usage: run_on_hardware.sh BENCH.yaml MODEL_RUN_DIR [OUT]}
MODEL=${2:?usage: run_on_hardware.sh BENCH.yaml MODEL_RUN_DIR [OUT]}
OUT=${3:-out/hardware}

fouroptics calibrate --bench "$BENCH" --out "$OUT/cal"
fouroptics compile --model "$MODEL" --system "$BENCH" --encoding double-phase \
  --slm holoeye_pluto2 --out "$OUT/compile"   # --slm: your Fourier SLM's profile
fouroptics simulate --bundle "$OUT/compile/bundle.h5" --bench "$BENCH" --dataset mnist \
  --calibration "$OUT/cal/calibration.h5" --limit 500 --out "$OUT/run"
# physics-aware fine-tuning of the electronic head with the bench in the loop:
fouroptics finetune --bundle "$OUT/compile/bundle.h5" --bench "$BENCH" --dataset mnist \
  --calibration "$OUT/cal/calibration.h5" --out "$OUT/finetune"
