"""A small simulated bench as a bench-YAML mapping, for CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: a tiny matched 4f system (32 px input SLM, 128 px Fourier SLM and camera) for CLI tests
TINY_SYSTEM: dict[str, Any] = {
    "wavelength": "532 nm",
    "f1": "20 mm",
    "f2": "20 mm",
    "input_slm": {"shape": [32, 32], "pitch": "8 um"},
    "fourier_slm": {"shape": [128, 128], "pitch": "8 um"},
    "camera": {"shape": [128, 128], "pitch": "8 um"},
}


def simulated_bench(system: dict[str, Any], name: str = "tiny", seed: int = 1) -> dict[str, Any]:
    """An aligned simulated bench over ``system`` (a system-YAML mapping): amplitude input SLM,
    phase Fourier SLM, the IMX174 camera at 1 ms, a flat 1 uW beam."""
    return {
        "name": name,
        "seed": seed,
        "system": system,
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }


def tiny_bundle(folder: Path, encoding: str = "double-phase") -> Path:
    """A tiny intensity-detection SCLC saved in ``folder / "model"`` (untrained, seed 0) and
    compiled for :data:`TINY_SYSTEM` into ``folder / "bundle.h5"``; returns the bundle's path."""
    from fouroptics.compiler import compile_model
    from fouroptics.nn.models import build_model, sclc_config
    from fouroptics.nn.train import TrainConfig, save_model
    from fouroptics.optics import FourFSystem

    cfg = sclc_config(resolution=8, channels=(2,), detection="intensity", pool=2, hidden=4)
    (folder / "model").mkdir()
    save_model(folder / "model", build_model(cfg, seed=0), cfg, {}, TrainConfig())
    bundle = compile_model(folder / "model", FourFSystem.from_dict(TINY_SYSTEM), encoding=encoding)
    return bundle.save(folder / "bundle.h5")
