"""SimulatedBench capture time versus the bare FourFSystem.forward of the same size.

A 512 x 512 input SLM, a 1024 x 1024 Fourier SLM and a 1024 x 1024 camera. For each new pair
of SLM patterns the bench computes the field (LUT, fringing, fill factor, beam, decentring,
FourFSystem.forward, misalignment resampling) and the EMVA 1288 frame. The issue's target:
bench capture < 3x bare forward.

    .venv/bin/python benchmarks/bench_speed.py [--reps 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from devices.config import load_bench
from fouroptics.optics import FourFSystem

SYSTEM = {
    "wavelength": "532 nm",
    "f1": "120 mm",
    "f2": "120 mm",
    "input_slm": {"shape": [512, 512], "pitch": "8 um"},
    "fourier_slm": {"shape": [1024, 1024], "pitch": "8 um", "fill_factor": 0.93},
    "camera": {"shape": [1024, 1024], "pitch": "5.86 um"},
}


def bench_config(noisy: bool) -> dict:
    cfg = {
        "name": "noisy" if noisy else "ideal",
        "seed": 7,
        "system": SYSTEM,
        "laser": {"power": "1 uW", "beam_waist": "2 mm" if noisy else None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "profile": "holoeye_pluto2"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }
    if noisy:
        cfg["imperfections"] = {
            "shift": 2.0,
            "rotation_deg": 0.5,
            "scale": 0.01,
            "fourier_decentre": 0.5,
            "laser_power": 0.1,
            "beam_offset": "100 um",
            "lut": {"range_spread": 0.1, "gamma_spread": 0.3},
        }
    return cfg


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    system = FourFSystem.from_dict(SYSTEM)
    field = (rng.uniform(0, 1, (512, 512)) * 1e-2).astype(np.complex64)
    mask = np.exp(1j * rng.uniform(0, 2 * np.pi, (1024, 1024))).astype(np.complex64)
    system.forward(field, mask)  # plans and matrices
    bare = median_time(lambda: system.forward(field, mask), args.reps)

    rows = [("FourFSystem.forward (512 -> 1024 x 1024)", bare, 1.0)]
    for noisy in (False, True):
        bench = load_bench(bench_config(noisy))
        levels_in = rng.integers(0, 256, (args.reps + 1, 512, 512))
        levels_f = rng.integers(0, 256, (args.reps + 1, 1024, 1024))
        it = iter(range(args.reps + 1))

        def step(bench=bench, levels_in=levels_in, levels_f=levels_f, it=it):
            i = next(it)
            bench.display(levels_in[i], levels_f[i])
            return bench.capture()

        step()  # warm-up
        t = median_time(step, args.reps)
        rows.append((f"SimulatedBench {bench.name}: display + capture", t, t / bare))
        bench.close()

    print(f"{'what':<50} {'median s':>10} {'x forward':>10}")
    for name, t, ratio in rows:
        print(f"{name:<50} {t:>10.3f} {ratio:>10.2f}")


if __name__ == "__main__":
    main()
