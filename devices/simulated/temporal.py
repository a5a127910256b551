"""Temporal noise of a simulated bench's light source: laser relative intensity noise (RIN).

The laser's power during one exposure is ``P (1 + rin * n)`` with ``n`` a standard normal
drawn per exposure (clipped at 0): ``rin`` is the rms relative power fluctuation integrated
over an exposure (a datasheet's RIN in dB/Hz integrated over the camera's bandwidth
``1 / (2 T)``: ``rin = sqrt(10^(RIN/10) / (2 T))``; e.g. -80 dB/Hz at 1 ms: 0.22 %, a quiet
diode's -140 dB/Hz at 1 ms: 2.2e-6). A capture of several averaged frames (``capture(n)``) is
one exposure of the laser here (its frames share the draw); a batched capture draws one per
image and bundle frame. The draws come from the bench's own stream (seeded after every draw of
its imperfections and drift), or from the batch's ``rng`` in the fast path.
"""

from __future__ import annotations

import numpy as np


class LaserNoise:
    """Per-exposure power factors of a laser with relative intensity noise ``rin`` (fraction
    rms, >= 0), drawn from ``rng``."""

    def __init__(self, rin: float, rng: np.random.Generator) -> None:
        if not (np.isfinite(rin) and rin >= 0):
            raise ValueError(f"bench.laser.rin: got {rin!r}; expected an rms fraction >= 0")
        self.rin = float(rin)
        self.rng = rng

    def factors(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        """Power factors (``shape``) float32, ``max(1 + rin n, 0)``, from ``rng`` (default:
        the laser's own stream)."""
        gen = self.rng if rng is None else rng
        n = gen.standard_normal(shape)
        return np.maximum(1.0 + self.rin * n, 0.0).astype(np.float32)
