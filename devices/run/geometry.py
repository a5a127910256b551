"""Camera geometry of the run: frames measured on the calibrated camera grid, read on the
bundle's nominal one.

The calibration's registration (camera (row, col) = M @ (input row, col, 1)) against the
believed system's geometric image (:meth:`fouroptics.optics.FourFSystem.imaging_affine`) gives
the resampling that takes a measured frame onto the nominal grid (Lanczos-4, power conserving);
:class:`ReadPlan` keeps only the rows the readout reads and the measured pixels that feed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from fouroptics.optics.resample import Resampling, resampling_matrix


def registration_resampler(system: Any, registration: np.ndarray) -> Resampling:
    """The map taking a measured camera frame onto the nominal camera grid, given the
    measured registration (2, 3); scaled by |det| so that power is conserved.

    Cached on what it depends on (the believed imaging affine, the grids, the registration):
    a sweep's points and a fine-tuning's recompiled bundles share one map."""
    m0 = np.ascontiguousarray(system.imaging_affine(), dtype=np.float64)
    reg = np.ascontiguousarray(registration, dtype=np.float64)
    return _resampler(
        m0.tobytes(), tuple(system.input_shape), tuple(system.camera_shape), reg.tobytes()
    )


@lru_cache(maxsize=4)
def _resampler(
    m0_bytes: bytes, input_shape: tuple, camera_shape: tuple, reg_bytes: bytes
) -> Resampling:
    m0 = np.frombuffer(m0_bytes).reshape(2, 3)
    registration = np.frombuffer(reg_bytes).reshape(2, 3)
    k = m0[0, 0]
    lin, off = registration[:, :2], registration[:, 2]
    c_in = np.array([s // 2 for s in input_shape], dtype=np.float64)
    c_cam = m0[:, 2] + k * c_in  # == (H // 2, W // 2)
    a = lin / k
    b = off + lin @ (c_in - c_cam / k)
    m = resampling_matrix(camera_shape, camera_shape, a, b) * abs(np.linalg.det(a))
    return Resampling(m)


def measured_windows(resample: Resampling | None, windows: np.ndarray) -> np.ndarray:
    """Windows (F, H, W) on the measured camera grid: pixels that feed any nominal window
    pixel (the nominal windows themselves without a registration)."""
    if resample is None:
        return windows
    used = (abs(resample.matrix).T @ windows.reshape(len(windows), -1).T.astype(np.float64)).T
    return used.reshape(windows.shape) > 0


@dataclass(frozen=True)
class ReadPlan:
    """Which camera pixels a run captures and reads.

    Attributes:
        read: (R,) flat nominal-grid pixels in any readout window.
        gather: (G,) flat measured-grid pixels captured: ``read`` and every pixel feeding it.
        windows: (F, H, W) nominal readout windows; ``measured``: the same on the measured grid.
        to_read: the registration's rows at ``read`` on the columns ``gather``, or None.
    """

    read: np.ndarray
    gather: np.ndarray
    windows: np.ndarray
    measured: np.ndarray
    to_read: Resampling | None

    @classmethod
    def build(cls, windows: np.ndarray, resample: Resampling | None) -> ReadPlan:
        meas = measured_windows(resample, windows)
        read = np.flatnonzero(windows.any(axis=0))
        gather = np.union1d(read, np.flatnonzero(meas.any(axis=0)))
        to_read = None if resample is None else resample.restricted(read, gather)
        return cls(read, gather, windows, meas, to_read)

    @property
    def in_window(self) -> np.ndarray:
        """(F, G) whether each gathered pixel lies in each frame's nominal window."""
        return self.windows.reshape(len(self.windows), -1)[:, self.gather]

    @property
    def read_windows(self) -> np.ndarray:
        """(F, R) whether each read pixel lies in each frame's window."""
        return self.windows.reshape(len(self.windows), -1)[:, self.read]

    def at_readout(self, vals: np.ndarray) -> np.ndarray:
        """(B, F, G) values at the gathered pixels -> (B, F, R) on the nominal read pixels."""
        if self.to_read is None:
            return vals[:, :, np.searchsorted(self.gather, self.read)]
        return self.to_read.apply_rows(vals)
