"""Photometry of the run: camera DN against the bundle's noise-free twin, and photon counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.run.exposure import camera_value
from fouroptics.errors import ConfigError


@dataclass
class Photometry:
    """Camera DN = ``gain`` * twin power (W) + ``offset``, fitted over the readout windows."""

    gain: float
    offset: float
    r2: float = 1.0

    def power(self, frames: np.ndarray) -> np.ndarray:
        return (frames - self.offset) / self.gain


def fit_photometry(dn: np.ndarray, twin: np.ndarray, windows: np.ndarray) -> Photometry:
    """Least-squares ``dn = gain * twin + offset`` over the window pixels of (B, F, H, W) frames
    (or (B, F, P) values at P pixels, with (F, P) windows).

    Raises:
        ConfigError: the twin is dark in the windows or the fit has no positive gain.
    """
    sel = np.broadcast_to(windows, dn.shape)
    y, x = dn[sel].astype(np.float64), twin[sel].astype(np.float64)
    if x.size < 2 or np.ptp(x) <= 0:
        raise ConfigError("photometry: the readout windows are dark in the noise-free twin")
    unit = float(np.abs(x).max())  # powers are ~1e-12 W: fit in units of the largest
    a = np.column_stack([x / unit, np.ones_like(x)])
    (gain, offset), *_ = np.linalg.lstsq(a, y, rcond=None)
    gain /= unit
    resid = y - (gain * x + offset)
    r2 = 1.0 - float(resid.var() / max(y.var(), 1e-300))
    if not gain > 0:
        raise ConfigError(
            f"photometry: fitted camera gain {gain:.3g} DN/W <= 0 against the twin (r^2 "
            f"{r2:.3f}); the frames do not follow the bundle's tiles: check the registration"
        )
    return Photometry(float(gain), float(offset), r2)


def photons_per_pixel(
    bench: Any,
    vals: np.ndarray,
    tiles: np.ndarray,
    starts: np.ndarray,
    phot: Photometry,
    measured: dict[str, float] | None = None,
) -> float | None:
    """Mean photons per pixel in the brightest tile (mean over images), as the lab knows the
    camera: the calibration's measured gain (``measured``), else the spec sheet's, and the spec
    sheet's quantum efficiency (a bench calibration has no absolute light standard); None when
    either is unknown. ``vals`` (B, F, G): DN at the gathered pixels; ``tiles``, ``starts``:
    :func:`tile_pixels`."""
    gain = camera_value(bench.camera, measured, "gain")
    qe = camera_value(bench.camera, None, "quantum_efficiency")
    if gain is None or qe is None:
        return None
    sel = vals.reshape(len(vals), -1)[:, tiles]  # (B, window pixels), tile after tile
    sums = np.add.reduceat(sel, starts, axis=1)
    counts = np.diff(np.append(starts, len(tiles)))
    e = (sums / counts - phot.offset) / (gain * qe)
    return float(e.max(axis=1).mean())


def photons_per_image(
    bench: Any,
    vals: np.ndarray,
    tiles: np.ndarray,
    phot: Photometry,
    measured: dict[str, float] | None = None,
) -> float | None:
    """Photons detected per image in all readout windows of all frames (mean over the
    images of ``vals`` (B, F, G) DN; the gain and QE as :func:`photons_per_pixel` takes them),
    or None when either is unknown: the light an inference spends."""
    gain = camera_value(bench.camera, measured, "gain")
    qe = camera_value(bench.camera, None, "quantum_efficiency")
    if gain is None or qe is None:
        return None
    sel = vals.reshape(len(vals), -1)[:, tiles] - phot.offset
    return float(sel.sum(axis=1).mean() / (gain * qe))


def tile_pixels(bundle: Any, gather: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every optical channel's window, channel after channel, as flat (frame, gathered pixel)
    indices into (F, G) values at the camera pixels ``gather``, and where each channel starts."""
    h, w = bundle.system.camera_shape
    idx, starts = [], []
    for t in bundle.tile_map:
        r, c, hh, ww = t["crop"]
        yy, xx = np.meshgrid(np.arange(r, r + hh), np.arange(c, c + ww), indexing="ij")
        starts.append(sum(len(i) for i in idx))
        idx.append(t["frame"] * len(gather) + np.searchsorted(gather, (yy * w + xx).ravel()))
    return np.concatenate(idx), np.asarray(starts)
