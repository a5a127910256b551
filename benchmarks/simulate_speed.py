"""Simulated inference (OpticalModel.features on a SimulatedBench) versus the bare
FourFSystem.forward of the same batch.

The matched example system (examples/systems/matched.yaml: 512 x 512 everywhere, every lens an
exact DFT) as a simulated bench (amplitude input SLM, Holoeye phase SLM, IMX174 camera with its
EMVA 1288 noise, seeded imperfections), a bundle compiled from an SCLC's kernels (the quick
MNIST architecture, random weights: the speed does not depend on them; ``--run`` takes a trained
one), complex encoding by default. Timed in one process, best of ``--reps``:

* bare: ``system.forward(fields (B, H, W), masks=bundle masks)`` on the batch;
* simulated: ``OpticalModel.features`` on the same batch at a fixed exposure and photometry
  (levels through the true LUT, beam, masks, forward, misalignment, EMVA 1288 noise, readout).

The issue's target: simulated >= 0.5x the bare throughput. Prints frames/s of both, on the
aligned bench and on the misaligned one (camera shift and rotation, Fourier-SLM decentring:
the input field carries the decentring tilt and the frames are resampled), or on one of them.

``--bench YAML --bundle B.h5``: the same on a bench of your own with a bundle compiled for it
(e.g. ``examples/benches/lcos_10bit_noisy.yaml``: its camera grid is not the Fourier grid's DFT
pair, so the camera transform is a matrix transform, and the run evaluates it at the readout
windows only; the bare forward computes whole frames).

    .venv/bin/python benchmarks/simulate_speed.py [--batch 32] [--reps 3] [--run RUN_DIR]
        [--aligned | --misaligned | --bench YAML --bundle B.h5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from devices.config import load_bench
from devices.run import OpticalModel
from fouroptics.errors import FouropticsError

ROOT = Path(__file__).resolve().parents[1]


def bench_config(misaligned: bool) -> dict:
    cfg = {
        "name": "matched-sim",
        "seed": 3,
        "system": str(ROOT / "examples" / "systems" / "matched.yaml"),
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "profile": "holoeye_pluto2", "fill_factor": 1.0},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }
    if misaligned:
        cfg["imperfections"] = {"shift": 1.0, "rotation_deg": 0.2, "fourier_decentre": 0.3}
    return cfg


def model_run(folder: Path) -> Path:
    from fouroptics.nn.models import build_model, sclc_config
    from fouroptics.nn.train import TrainConfig, save_model

    cfg = sclc_config(channels=(16, 32), detection="intensity")
    save_model(folder, build_model(cfg, seed=0), cfg, {}, TrainConfig())
    return folder


def best_of(reps: int, fn) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(args: argparse.Namespace, misaligned: bool) -> dict:
    """Best-of-``args.reps`` seconds of the bare forward and of ``OpticalModel.features`` on
    one batch."""
    from fouroptics.compiler import MaskBundle, compile_model
    from fouroptics.data.glyphs import render_glyphs

    config = args.bench or bench_config(misaligned)
    with tempfile.TemporaryDirectory() as tmp, load_bench(config) as bench:
        if args.bundle:
            bundle = MaskBundle.load(args.bundle, system=bench.system)
        else:
            run = Path(args.run) if args.run else model_run(Path(tmp))
            bundle = compile_model(run, bench.system, encoding=args.encoding)
        x = render_glyphs(args.batch, seed=1, size=bundle.image_shape[-1])[0].numpy()
        x = np.round(x * 255) / 255
        fields = bundle.input_transmission(x)  # float32: the real-input transforms
        masks = bundle.fourier_masks
        system = bench.system
        system.forward(fields, masks=masks)  # plans for the whole batch
        ref = render_glyphs(4, seed=2, size=bundle.image_shape[-1])[0].numpy()
        model = OpticalModel(bundle, bench, reference=np.round(ref * 255) / 255, batch=args.batch)
        model.features(x[:4])  # exposure and photometry, then held
        model.features(x)  # warm caches and plans
        t_bare = best_of(args.reps, lambda: system.forward(fields, masks=masks))
        t_sim = best_of(args.reps, lambda: model.features(x))  # a fresh noise stream each
    return {
        "system": system,
        "encoding": bundle.encoding,
        "n_frames": bundle.n_frames,
        "bare": t_bare,
        "simulated": t_sim,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--run", default=None, help="a trained SCLC run folder")
    ap.add_argument("--encoding", default="complex")
    ap.add_argument("--aligned", action="store_true", help="the aligned bench only")
    ap.add_argument("--misaligned", action="store_true", help="the misaligned bench only")
    ap.add_argument("--bench", default=None, help="a bench YAML of your own (with --bundle)")
    ap.add_argument("--bundle", default=None, help="a MaskBundle compiled for --bench")
    args = ap.parse_args()
    if bool(args.bench) != bool(args.bundle):
        ap.error("--bench and --bundle go together")
    variants = [
        v for v, only in (("aligned", args.aligned), ("misaligned", args.misaligned)) if only
    ]
    if args.bench:
        variants = [Path(args.bench).stem]
    try:
        rows = {v: measure(args, v == "misaligned") for v in variants or ("aligned", "misaligned")}
    except FouropticsError as exc:  # a bad --bench or --bundle: one line
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    width = max(12, *(len(v) + 2 for v in rows))
    first = next(iter(rows.values()))
    system = first["system"]
    print(
        f"system {system.name or '(unnamed)'}: {system.input_shape} -> {system.camera_shape}, "
        f"{first['n_frames']} frame(s) per image, batch {args.batch}, "
        f"encoding {first['encoding']}, best of {args.reps}"
    )
    frames = args.batch * first["n_frames"]
    print(f"{'bench':<{width}}{'path':<28}{'s':>9}{'frames/s':>12}{'images/s':>12}")
    for name, r in rows.items():
        for path, key in (
            ("bare FourFSystem.forward", "bare"),
            ("OpticalModel.features", "simulated"),
        ):
            t = r[key]
            print(f"{name:<{width}}{path:<28}{t:>9.3f}{frames / t:>12.1f}{args.batch / t:>12.1f}")
    for name, r in rows.items():
        print(
            f"{name}: throughput ratio simulated / bare {r['bare'] / r['simulated']:.2f} (>= 0.5)"
        )


if __name__ == "__main__":
    main()
