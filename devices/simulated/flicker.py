"""SLM phase flicker: the liquid crystal's phase ripples at the panel's refresh rate.

Model (one scalar in time, shared by the panel): a pixel driven at level ``g`` of ``L`` shows
the phase ``phi(g) + eps(t) g / (L - 1)`` (the ripple's depth grows with the drive: an
undriven cell does not flicker), with

    eps(t) = a cos(2 pi f t + theta) + b_k,   k = floor(f t)

a periodic ripple at the refresh frequency ``f`` with a phase ``theta`` drawn from the seed,
plus a random offset ``b_k`` per refresh frame (drawn from the seed, the same ``k`` gives the
same ``b_k``). The rms ``rms`` of ``eps`` is split: ``a^2 / 2 = share rms^2`` (the ripple,
:data:`RIPPLE_SHARE`) and ``var b = (1 - share) rms^2``.

A camera integrates intensity over its exposure window ``[t0, t0 + T]``. The intensity is
quadratic in ``eps`` to second order, ``I(eps) = I0 + I1 eps + I2 eps^2``, fitted through
three evaluations of the optics at ``eps = 0, +delta, -delta`` (``delta = rms``), so the
exposure sees ``I0 + I1 m + I2 q`` with ``m`` and ``q`` the exact time averages of ``eps``
and ``eps^2`` over the window (:meth:`Flicker.window`): an exposure much shorter than a
refresh period sees one value of the ripple; one of many periods averages ``m`` down
(:func:`seen_rms`), while ``q`` keeps the intensity's blur (the contrast lost to flicker).
A capture of several averaged frames shares the first frame's window.
"""

from __future__ import annotations

import numpy as np

#: the share of the flicker's variance in the periodic ripple (the rest: per-frame offsets)
RIPPLE_SHARE = 0.8
#: per-frame offsets are drawn in blocks of this many refresh frames
_BLOCK = 4096


class Flicker:
    """The phase flicker of one SLM.

    Args:
        rms: rms of ``eps`` in radians (>= 0), at full drive.
        refresh_hz: the panel's refresh rate, Hz.
        seq: seeds the ripple's phase and the per-frame offsets.
        share: :data:`RIPPLE_SHARE`.
    """

    def __init__(
        self, rms: float, refresh_hz: float, seq: np.random.SeedSequence,
        share: float = RIPPLE_SHARE,
    ) -> None:  # fmt: skip
        if not (np.isfinite(rms) and rms >= 0):
            raise ValueError(f"flicker: got {rms!r} rad; expected an rms >= 0")
        self.rms = float(rms)
        self.refresh_hz = float(refresh_hz)
        self.amplitude = float(np.sqrt(2.0 * share) * rms)
        self.frame_rms = float(np.sqrt(1.0 - share) * rms)
        self.theta = float(np.random.default_rng(seq).uniform(0.0, 2 * np.pi))
        self.seq = seq

    @property
    def delta(self) -> float:
        """The phase step (rad) of the quadratic fit's evaluations."""
        return self.rms

    def frame_offsets(self, k: np.ndarray) -> np.ndarray:
        """The per-frame offsets ``b_k`` (rad) of refresh frames ``k`` (int array, >= 0)."""
        k = np.asarray(k, dtype=np.int64)
        out = np.empty(k.shape, dtype=np.float64)
        blocks = k // _BLOCK
        for blk in np.unique(blocks):  # a window spans one or two blocks
            key = (*self.seq.spawn_key, 1, int(blk))
            seq = np.random.SeedSequence(self.seq.entropy, spawn_key=key)
            vals = np.random.default_rng(seq).standard_normal(_BLOCK) * self.frame_rms
            sel = blocks == blk
            out[sel] = vals[k[sel] - blk * _BLOCK]
        return out

    def window(self, t0: np.ndarray, exposure: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact time averages ``(m, q)`` of ``eps`` and ``eps^2`` (rad, rad^2) over the
        windows ``[t0, t0 + exposure]`` (``t0`` seconds, any shape)."""
        t0 = np.asarray(t0, dtype=np.float64)
        s = t0 * self.refresh_hz  # in refresh periods
        length = max(float(exposure) * self.refresh_hz, 1e-12)
        e = s + length
        n = int(np.ceil(length)) + 1
        k = np.floor(s)[..., None] + np.arange(n)  # (..., n) the frames it may touch
        x = np.clip(s[..., None], k, k + 1)
        y = np.clip(e[..., None], x, k + 1)
        overlap = y - x
        b = np.where(overlap > 0, self.frame_offsets(k), 0.0)
        a, th = self.amplitude, self.theta
        c1 = (np.sin(2 * np.pi * y + th) - np.sin(2 * np.pi * x + th)) / (2 * np.pi)
        m = (a * c1.sum(-1) + (b * overlap).sum(-1)) / length
        c2 = overlap / 2 + (np.sin(4 * np.pi * y + 2 * th) - np.sin(4 * np.pi * x + 2 * th)) / (
            8 * np.pi
        )
        q = (a * a * c2 + 2 * a * b * c1 + b * b * overlap).sum(-1) / length
        return m, q

    def weights(self, m: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Weights (3, ...) float64 of the powers at ``eps = 0, +delta, -delta`` whose sum is
        the exposure's mean power ``I0 + I1 m + I2 q`` (they sum to 1)."""
        d = self.delta
        if d == 0:
            return np.stack([np.ones_like(m), np.zeros_like(m), np.zeros_like(m)])
        r, u = np.asarray(q) / d**2, np.asarray(m) / d
        return np.stack([1.0 - r, (r + u) / 2, (r - u) / 2])


def combine(powers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The exposure's power from the powers (3, ...) at ``eps = 0, +delta, -delta`` and the
    :meth:`Flicker.weights` (3, ...) broadcastable, float32, clipped at 0."""
    w = np.asarray(weights, dtype=np.float32)
    out = powers[0] * w[0] + powers[1] * w[1] + powers[2] * w[2]
    return np.maximum(out, 0.0, out=out)


def drive_depth(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """The ripple's depth per pixel, ``levels / (L - 1)`` (0 undriven, 1 full drive)."""
    return np.asarray(levels, dtype=np.float64) / max(n_levels - 1, 1)


def seen_rms(rms: float, exposure: float, refresh_hz: float, share: float = RIPPLE_SHARE):
    """The analytic rms (rad) of the window mean ``m`` over exposures starting at random times:
    ``sqrt(share rms^2 sinc^2(T f) + (1 - share) rms^2 V(T f))`` with ``V(x) = 1 - x / 3``
    (``x <= 1``) or ``(x - 1/3) / x^2``: the variance of a window mean of a piecewise-constant
    process of unit frames (its autocorrelation is the triangle ``1 - |tau|``)."""
    x = exposure * refresh_hz
    v = 1 - x / 3 if x <= 1 else (x - 1 / 3) / x**2
    return float(np.sqrt(share * rms**2 * np.sinc(x) ** 2 + (1 - share) * rms**2 * v))
