#!/usr/bin/env bash
# Calibrate a bench: camera (EMVA 1288 photon transfer), SLM lookup tables, input-SLM -> camera
# registration, Fourier-SLM centre and scale. Writes DIR/calibration.h5 (for compile, simulate,
# finetune: --calibration DIR/calibration.h5), DIR/calibration.json and the plots.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out}

# 1. A simulated bench with hidden imperfections: calibration.json holds, for each quantity,
#    {"measured", "true", "error"} (about 30 s on one core; 467 frames captured).
fouroptics calibrate --bench examples/benches/misaligned_noisy.yaml --out "$OUT/cal_sim" --threads 1

# 2. The same routines on slmsuite's drivers (slmsuite's own simulated SLM and camera here;
#    needs the `hardware` extra). For your lab: copy examples/benches/slmsuite_hardware.yaml,
#    edit the devices, and pass it as --bench. Run one routine at a time with --only.
fouroptics calibrate --bench examples/benches/slmsuite_simulated.yaml --out "$OUT/cal_slmsuite" \
  --only fourier
# fouroptics calibrate --bench my_lab_bench.yaml --out "$OUT/cal_lab"
