"""Fidelity and efficiency of every encoding against the ideal complex mask, and the readout
accuracy of compiled models, on the example systems. Prints tables (not a timed test).

    python benchmarks/compiler_encodings.py [--model RUN_DIR ...] [--systems matched realistic]

* Part 1 (compile path): a kernel set (default: 4 random 7x7 kernels on 16x16 images,
  intensity detection) compiled with each encoding, the binary DMD ones (lee, superpixel)
  included, each with the SLM its encoding assumes, on the same system geometry (the binary
  ones read behind their iris: examples/systems/dmd.yaml is a DLP7000-sized Fourier plane);
  fidelity = normalised overlap of the camera field with the ideal mask's over the readout
  windows, efficiency = power in the windows / input power; the readout NRMSE against the
  ideal-mask readout. An encoding a system cannot hold prints its refusal.
* Part 2 (DMD encodings, behind their own iris): superpixel (Goorden et al. 2014) and Lee
  holograms of random complex fields band-limited to S x S DMD pixels per resolved spot.
* Part 3 (with --model): each run folder compiled with the complex encoding, features read out
  from the simulated camera vs the model's own (NRMSE), frames and time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fouroptics.compiler import binary as bn
from fouroptics.compiler import compile_kernels, compile_model
from fouroptics.errors import ConfigError
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[1]
COMPILE_ENCODINGS = (
    "complex", "amplitude", "double-phase", "double-phase-3pi", "phase", "lee", "superpixel",
)  # fmt: skip


def _nrmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def part1(systems: list[str]) -> None:
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((4, 7, 7))
    images = rng.random((2, 1, 16, 16))
    print("encodings on the 4f system (4 random 7x7 kernels, 16x16 images, intensity)")
    print(f"{'system':<10} {'encoding':<17} {'frames':>6} {'fid mean':>9} {'fid min':>8} "
          f"{'eff/chan':>9} {'NRMSE':>8}")  # fmt: skip
    for name in systems:
        system = FourFSystem.from_yaml(ROOT / "examples" / "systems" / f"{name}.yaml")
        ref = None
        for enc in COMPILE_ENCODINGS:
            try:
                b = compile_kernels(
                    kernels, system, image_size=16, detection="intensity", encoding=enc,
                    max_frames=64,
                )  # fmt: skip
            except ConfigError as exc:
                print(f"{name:<10} {enc:<17} refused: {str(exc)[:90]}")
                continue
            q = b.quality(images)
            got = b.simulate(images)
            ref = got if enc == "complex" else ref
            print(
                f"{name:<10} {enc:<17} {b.n_frames:>6} {q['mean_fidelity']:>9.4f} "
                f"{min(q['fidelity']):>8.4f} {np.mean(q['efficiency']):>9.3g} "
                f"{_nrmse(got, ref):>8.2g}"
            )


def part2() -> None:
    print("\nDMD encodings behind their iris (256x256 DMD, random fields, 3 seeds)")
    print(f"{'encoding':<22} {'px/spot':>7} {'fidelity':>9} {'efficiency':>11}")
    for spot in (8, 16):
        rows = {}
        for seed in (1, 2, 3):
            t = bn.random_target((256, 256), spot, seed=seed)
            r = bn.demodulate(bn.superpixel_pattern(t, 4), bn.superpixel_carrier(4), 1 / (2 * spot))
            rows.setdefault("superpixel 4x4", []).append(
                (bn.fidelity(r, t), bn.efficiency(r, t.shape))
            )
            for period in (4, 8):
                r = bn.demodulate(
                    bn.lee_hologram(t, (0, 1 / period)), (0, 1 / period), 1 / (2 * spot)
                )
                rows.setdefault(f"Lee, carrier 1/{period}", []).append(
                    (bn.fidelity(r, t), bn.efficiency(r, t.shape))
                )
        for name, vals in rows.items():
            f, e = np.mean(vals, axis=0)
            print(f"{name:<22} {spot:>7} {f:>9.4f} {e:>11.4f}")


def part3(models: list[str], systems: list[str]) -> None:
    import torch

    from fouroptics.data.glyphs import render_glyphs
    from fouroptics.nn.train import load_model

    print("\ncompiled models, complex encoding, noise off (features vs the model's own)")
    print(f"{'model':<28} {'system':<10} {'detection':<10} {'frames':>6} {'NRMSE':>9} {'s':>6}")
    x = render_glyphs(4, seed=0)[0]
    for run in models:
        model, _ = load_model(run, torch.device("cpu"))
        ref = model.features(x).detach().numpy()
        for name in systems:
            system = FourFSystem.from_yaml(ROOT / "examples" / "systems" / f"{name}.yaml")
            t0 = time.time()
            b = compile_model(run, system)
            got = b.simulate(x.numpy())
            print(
                f"{Path(run).name:<28} {name:<10} {b.detection:<10} {b.n_frames:>6} "
                f"{_nrmse(got, ref):>9.2e} {time.time() - t0:>6.1f}"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="*", default=[], help="run folders of trained SCLCs")
    p.add_argument("--systems", nargs="*", default=["matched", "realistic", "dmd"])
    p.add_argument("--skip-encodings", action="store_true")
    args = p.parse_args()
    if not args.skip_encodings:
        part1(args.systems)
        part2()
    if args.model:
        part3(args.model, args.systems)


if __name__ == "__main__":
    main()
