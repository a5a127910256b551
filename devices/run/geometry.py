"""Camera geometry of the run: frames measured on the calibrated camera grid, read on the
bundle's nominal one.

The calibration's registration (camera (row, col) = M @ (input row, col, 1)) against the
believed system's geometric image (:meth:`fouroptics.optics.FourFSystem.imaging_affine`) gives
the map from nominal to measured camera pixels (:func:`nominal_to_measured`). Two readouts use
it:

* ``resample`` (the bundle's own readout): the measured frame resampled onto the nominal grid
  (Lanczos-4, power conserving), then each window's trigonometric interpolation
  (:meth:`fouroptics.compiler.MaskBundle.readout`); :class:`ReadPlan` keeps only the rows the
  readout reads and the measured pixels that feed them. Per channel ``n w^2 + n^2 w`` MACs
  (``w`` window pixels per side, ``n`` outputs per side) plus ``(2 r)^2`` per read pixel for the
  registration.
* ``filter`` (:class:`FeatureSampler`): each feature is the camera intensity at its own output
  position, carried through the registration to the measured grid and interpolated there by a
  short separable filter (Lanczos-2: 4 x 4 taps): ``16 n^2`` MACs per channel, nothing resampled.
  The intensity a camera samples is band-limited to the kernels' band (a few camera pixels per
  period of its highest harmonic), so 4 taps hold it to about 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse

from fouroptics.compiler.geometry import harmonic_set
from fouroptics.errors import ConfigError
from fouroptics.optics.resample import Resampling, resampling_matrix, sampling_matrix


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
    a, b = _nominal_to_measured(m0, input_shape, registration)
    m = resampling_matrix(camera_shape, camera_shape, a, b) * abs(np.linalg.det(a))
    return Resampling(m)


def nominal_to_measured(system: Any, registration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The affine ``measured = a @ nominal + b`` (camera pixel (row, col)) that the measured
    registration (2, 3) makes of the believed imaging: (a (2, 2), b (2,))."""
    m0 = np.asarray(system.imaging_affine(), dtype=np.float64)
    return _nominal_to_measured(m0, tuple(system.input_shape), np.asarray(registration, float))


def _nominal_to_measured(
    m0: np.ndarray, input_shape: tuple, registration: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    k = m0[0, 0]
    lin, off = registration[:, :2], registration[:, 2]
    c_in = np.array([s // 2 for s in input_shape], dtype=np.float64)
    c_cam = m0[:, 2] + k * c_in  # == (H // 2, W // 2)
    a = lin / k
    return a, off + lin @ (c_in - c_cam / k)


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
    def build(
        cls, windows: np.ndarray, resample: Resampling | None, extra: np.ndarray | None = None
    ) -> ReadPlan:
        """For nominal windows (F, H, W), the registration's resampling or None, and further
        flat pixels to capture (``extra``: a readout filter's taps)."""
        meas = measured_windows(resample, windows)
        read = np.flatnonzero(windows.any(axis=0))
        gather = np.union1d(read, np.flatnonzero(meas.any(axis=0)))
        if extra is not None:
            gather = np.union1d(gather, extra)
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


#: The readout filter's half-width in camera pixels (Lanczos-2: 4 x 4 taps per feature).
FILTER_RADIUS = 2

#: Camera pixels per period of the read intensity's highest harmonic below which the filter
#: is not used (``auto``): a local filter cannot tell a harmonic near the camera's Nyquist
#: limit from its alias; the window readout's fit to the known harmonics can. A quick MNIST
#: SCLC on misaligned_noisy.yaml at upsampling 1 has 2.9 (28-px period, 1.37 camera px per
#: image pixel, harmonics to 13): the filter misses the window readout by 5 % there, by 1e-4
#: to 4e-3 at 4.3 (tests/devices/test_readout_filter.py).
FILTER_MIN_SAMPLES = 4.0


def samples_per_cycle(bundle: Any) -> float:
    """Camera pixels per period of the highest harmonic the readout reads (one axis)."""
    m = bundle.meta
    system = bundle.system
    k = system.magnification * m["upsample"] * system.input_pitch / system.camera.pitch
    h = np.abs(harmonic_set(np.asarray(bundle.arrays["band"]), bundle.detection)).max()
    return float(np.inf if h == 0 else k * m["period"] / h)


def choose_readout(bundle: Any, readout: str) -> tuple[str, str | None]:
    """``auto`` -> ``filter`` when the bundle records its anchor and the camera samples the
    read intensity finely enough (:data:`FILTER_MIN_SAMPLES`), else ``resample``; with the
    reason when a ``filter`` asked for, or ``auto``, falls back to ``resample``."""
    if readout == "resample":
        return readout, None
    if "t_anchor" not in bundle.meta:
        return "resample", (
            "readout filter: the bundle does not record its anchor (compiled by an older "
            "fouroptics): read through the registration's resampling; recompile it"
        )
    spc = samples_per_cycle(bundle)
    if readout == "auto" and spc < FILTER_MIN_SAMPLES:
        return "resample", None  # the expected case at the camera's limit: no warning
    return "filter", None


def feature_positions(bundle: Any) -> tuple[np.ndarray, np.ndarray]:
    """Nominal camera pixel (row, col) of every output position: (C, n) rows, (C, n) cols
    (fractional; the tile's centre pixel sees the image position ``meta["t_anchor"]``, the
    window one period ``N`` around it, where each output position lies modulo ``N``; the image
    is inverted and magnified by ``M``: one image pixel is ``M s p_in / p_cam`` camera pixels).

    Raises:
        ConfigError: a bundle compiled before the anchor was recorded.
    """
    m, a = bundle.meta, bundle.arrays
    if "t_anchor" not in m:
        raise ConfigError(
            "readout filter: the bundle does not record its anchor (compiled by an older "
            "fouroptics); recompile it, or read it with the resampling readout"
        )
    system = bundle.system
    k = system.magnification * m["upsample"] * system.input_pitch / system.camera.pitch
    n_per = m["period"]  # the window holds one period around the anchor: t_out modulo it
    d = (m["t_anchor"] - np.asarray(a["t_out"], dtype=np.float64) + n_per / 2) % n_per
    d = (d - n_per / 2) * k  # (n,)
    tiles = a["tiles"][a["channel_tile"]].astype(np.float64)  # (C, 2)
    return tiles[:, :1] + d[None, :], tiles[:, 1:] + d[None, :]


@dataclass(frozen=True)
class FeatureSampler:
    """The ``filter`` readout: a sparse map from the captured pixels to every channel's
    intensity at its output positions (see the module docstring).

    Attributes:
        matrix: (C n^2, F G) CSR, columns ``frame * G + g`` over the gathered pixels ``gather``
            of :class:`ReadPlan`; with ``minus`` (detection ``ideal``) a second one for the -R
            frames.
        area: |det| of the registration's linear part (power per measured pixel -> nominal).
        shape: (C, n).
        size: pixels per frame in the columns (the camera's, or ``G`` after
            :meth:`on_pixels`).
    """

    matrix: sparse.csr_matrix
    minus: sparse.csr_matrix | None
    area: float
    shape: tuple[int, int]
    size: int

    @classmethod
    def build(cls, bundle: Any, registration: np.ndarray | None) -> FeatureSampler:
        """For a bundle and the registration (2, 3), or None (the nominal geometry); columns
        over whole frames (``frame * H W + pixel``) until :meth:`on_pixels`.

        Raises:
            ConfigError: an old bundle (:func:`feature_positions`).
        """
        rows, cols = feature_positions(bundle)
        c, n = rows.shape
        yy = np.broadcast_to(rows[:, :, None], (c, n, n))
        xx = np.broadcast_to(cols[:, None, :], (c, n, n))
        pts = np.stack([yy.ravel(), xx.ravel()], axis=1)
        area = 1.0
        if registration is not None:
            a, b = nominal_to_measured(bundle.system, registration)
            pts = pts @ a.T + b[None, :]
            area = float(abs(np.linalg.det(a)))
        shape = tuple(bundle.system.camera_shape)
        taps = sampling_matrix(pts, shape, FILTER_RADIUS)
        taps.data[np.abs(taps.data) < 1e-9] = 0.0  # a feature on a pixel: the sinc's zeros
        taps.eliminate_zeros()
        taps = taps.tocoo()
        per = np.repeat(np.arange(c), n * n)
        size = shape[0] * shape[1]

        def on(frames: np.ndarray) -> sparse.csr_matrix:
            col = frames[per[taps.row]] * size + taps.col
            shape_ = (c * n * n, bundle.n_frames * size)
            return sparse.csr_matrix((taps.data * area, (taps.row, col)), shape=shape_)

        a_ = bundle.arrays
        minus = on(a_["minus_frame"]) if bundle.detection == "ideal" else None
        return cls(on(a_["channel_frame"]), minus, area, (c, n), size)

    @property
    def pixels(self) -> np.ndarray:
        """Flat pixels (sorted) that any tap reads, of the columns' pixel set."""
        cols = [self.matrix.indices] + ([] if self.minus is None else [self.minus.indices])
        return np.unique(np.concatenate(cols) % self.size)

    def on_pixels(self, gather: np.ndarray) -> FeatureSampler:
        """The same taps with columns ``frame * G + g`` over the captured pixels ``gather``
        (flat, sorted, holding :attr:`pixels`)."""
        g = len(gather)

        def remap(m: sparse.csr_matrix | None) -> sparse.csr_matrix | None:
            if m is None:
                return None
            m = m.tocoo()
            frame, pix = np.divmod(m.col, self.size)
            pos = np.searchsorted(gather, pix)
            if not np.array_equal(gather[np.minimum(pos, g - 1)], pix):
                raise ValueError("on_pixels: gather misses a tap")
            n_f = self.matrix.shape[1] // self.size
            return sparse.csr_matrix(
                (m.data, (m.row, frame * g + pos)), shape=(m.shape[0], n_f * g)
            )

        return FeatureSampler(remap(self.matrix), remap(self.minus), self.area, self.shape, g)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image: one per tap."""
        return int(self.matrix.nnz + (0 if self.minus is None else self.minus.nnz))

    def features(
        self, bundle: Any, dn: np.ndarray, gain: float = 1.0, offset: float = 0.0
    ) -> np.ndarray:
        """The model's features (B, C_f, n, n) from camera values (B, F, G) at the gathered
        pixels, power = (dn - offset) / gain W (applied after the taps: one MAC per feature;
        :meth:`fouroptics.compiler.MaskBundle.detect`)."""
        b = len(dn)
        c, n = self.shape
        flat = dn.reshape(b, -1)

        def at(m: sparse.csr_matrix, minus: bool) -> np.ndarray:
            val = np.asarray((m @ flat.T).T) - offset * np.asarray(m.sum(axis=1)).ravel()
            val = val.reshape(b, c, n, n) / gain
            return val / bundle.feature_scale(minus)[None, :, None, None]

        if self.minus is None:
            return bundle.detect(at(self.matrix, False))
        return bundle.detect(at(self.matrix, False), at(self.minus, True))


def readout_macs(bundle: Any, plan: ReadPlan | None, sampler: FeatureSampler | None) -> int:
    """Electronic MACs per image of the camera readout: the filter's taps and one per feature
    (the photometry's gain and offset, applied after the taps); or the registration's
    resampling (one per tap of its rows, when there is one), the photometry at every read
    pixel and each channel's trigonometric window readout ``n w^2 + n^2 w``."""
    if sampler is not None:
        return sampler.macs + int(sampler.matrix.shape[0]) * (1 if sampler.minus is None else 2)
    a = bundle.arrays
    n, w = len(a["t_out"]), len(a["window_offsets"])
    frames = 2 if bundle.detection == "ideal" else 1
    trig = frames * len(a["channel_frame"]) * (n * w * w + n * n * w)
    reg = 0
    if plan is not None:
        reg = len(plan.read) * bundle.n_frames  # photometry
        if plan.to_read is not None:
            reg += int(plan.to_read.matrix.nnz) * bundle.n_frames
    return int(trig + reg)
