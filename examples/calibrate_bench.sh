#!/usr/bin/env bash
# Calibrate a bench: camera (EMVA 1288 photon transfer), SLM lookup tables, input-SLM -> camera
# registration, Fourier-SLM centre and scale. Writes DIR/calibration.h5 (for simulate and
# finetune: --calibration DIR/calibration.h5), DIR/calibration.json and the plots.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out}

# 1. A simulated bench with hidden imperfections: calibration.json holds, for each quantity,
#    {"measured", "true", "error"} (about 30 s on one core; 467 frames captured).
fouroptics calibrate --bench examples/benches/misaligned_noisy.yaml --out "$OUT/cal_sim" --threads 1

# 2. A real bench through slmsuite's drivers: copy examples/benches/slmsuite_hardware.yaml, edit
#    its devices, then run the same command on it. The routines need an amplitude (or binary)
#    input SLM and, for the camera's dark frames, a shutter (the driver's laser_on attribute);
#    each stops with a one-line error saying what is missing. --only runs a subset:
# fouroptics calibrate --bench my_lab_bench.yaml --out "$OUT/cal_lab" --only camera,lut

# 3. slmsuite's own Fourier calibration (spot array, k-space -> camera affine) through our
#    adapters, here on slmsuite's simulated SLM and camera (the `hardware` extra; ~10 s):
python - <<'PY'
import warnings

from calibration.slmsuite_fourier import slmsuite_fourier_calibrate
from devices.config import load_bench

warnings.simplefilter("ignore")
with load_bench("examples/benches/slmsuite_simulated.yaml") as bench:
    cal = slmsuite_fourier_calibrate(
        bench.fourier_slm, bench.camera, array_shape=3, array_pitch=8, maxiter=20
    )
print("camera pixel (x, y) = M @ kxy + b:", cal)
PY
