"""Compile your own numpy kernels for your 4f system and check the optics against scipy.

Run: ``python examples/compile_my_kernels.py [SYSTEM.yaml]`` (default: the realistic example;
about 20 s). Writes ``out/my_kernels/`` (bundle.h5, compile.json, masks.png) through the
command line ``fouroptics compile --kernels``, then runs the bundle's noise-free camera frames
back through its readout and compares them with ``scipy.signal.fftconvolve(image, k, "same")``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from fouroptics.cli import main
from fouroptics.compiler import MaskBundle
from fouroptics.optics import FourFSystem

HERE = Path(__file__).resolve().parent
SIZE = 32  # image side, in image pixels (one input-SLM pixel each, --upsample 1)


def my_kernels() -> np.ndarray:
    """(C, k, k) real kernels: Sobel x, Sobel y, a Laplacian, a Gaussian (any size works)."""
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    g = np.exp(-(np.arange(-3, 4)[:, None] ** 2 + np.arange(-3, 4)[None, :] ** 2) / 4.0)
    pad = lambda k: np.pad(k, (7 - len(k)) // 2)  # noqa: E731  (one shape for the stack)
    return np.stack([pad(sobel), pad(sobel.T), pad(lap), g / g.sum()])


def run(system_yaml: Path, out: Path) -> float:
    kernels = my_kernels()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out.parent / "my_kernels.npy", kernels)
    rc = main(
        [
            "compile",
            "--kernels", str(out.parent / "my_kernels.npy"),
            "--system", str(system_yaml),
            "--encoding", "complex",        # ideal modulator; try phase / double-phase / amplitude
            "--detection", "signed",       # +/- pairs: signed outputs from intensities
            "--image-size", str(SIZE),
            "--out", str(out),
        ]
    )  # fmt: skip
    if rc != 0:
        raise SystemExit(rc)
    system = FourFSystem.from_yaml(system_yaml)
    bundle = MaskBundle.load(out / "bundle.h5", system=system)
    images = np.random.default_rng(0).random((4, 1, SIZE, SIZE))
    features = bundle.readout(bundle.camera_frames(images))  # (B, C, n, n), the model's units
    ref = np.stack([[fftconvolve(im[0], k, mode="same") for k in kernels] for im in images])
    err = float(np.linalg.norm(features - ref) / np.linalg.norm(ref))
    print(f"{len(kernels)} kernels on {system.name or system_yaml}: NRMSE vs scipy {err:.2e}")
    return err


if __name__ == "__main__":
    yaml_path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "systems" / "realistic.yaml"
    run(yaml_path, Path("out") / "my_kernels")
