"""A simulated bench's temporal noise sources as a sweep sets them: the Fourier SLM's phase
flicker (:mod:`devices.simulated.flicker`), the laser's RIN (:mod:`devices.simulated.temporal`)
and the stray light (:mod:`devices.simulated.stray`), each at another value with its seeded
draws kept (the ripple's phase and per-frame offsets, RIN's stream, the background's shape).
A simulation control: nothing measured reads it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from devices.simulated.flicker import Flicker
from devices.simulated.stray import StrayLight
from devices.simulated.temporal import LaserNoise


def values(bench: Any) -> dict[str, float]:
    """``flicker`` (rad rms), ``rin`` (fraction rms), ``stray`` (fraction of the laser power)."""
    return {
        "flicker": 0.0 if bench.flicker is None else bench.flicker.rms,
        "rin": 0.0 if bench.laser_noise is None else bench.laser_noise.rin,
        "stray": 0.0 if bench.stray is None else bench.stray.fraction,
    }


def set_values(
    bench: Any, flicker: float | None = None, rin: float | None = None, stray: float | None = None
) -> None:
    """Set the bench's sources (None: keep; 0: off), from the first sources it had (their
    seeds), or fixed seeds when it had none."""
    seeds = bench.__dict__.setdefault(
        "temporal_seeds", {"flicker": bench.flicker, "rin": bench.laser_noise, "stray": bench.stray}
    )
    if flicker is not None:
        old = seeds["flicker"]
        seq = old.seq if old is not None else np.random.SeedSequence(0)
        bench.flicker = Flicker(flicker, bench.refresh_hz[1], seq) if flicker else None
        seeds["flicker"] = bench.flicker or old
    if rin is not None:
        old = seeds["rin"]
        rng = old.rng if old is not None else np.random.default_rng(0)
        bench.laser_noise = LaserNoise(rin, rng) if rin else None
        seeds["rin"] = bench.laser_noise or old
    if stray is not None:
        old = seeds["stray"]
        if old is None:
            old = StrayLight(stray, tuple(bench.camera.shape), np.random.default_rng(0))
        new = copy.copy(old)
        new.fraction = float(stray)
        bench.stray = new if stray else None
        seeds["stray"] = new
