"""Run a compiled MaskBundle on a bench: images -> input SLM -> camera frames -> features.

The generic path (:func:`capture_generic`) is what real hardware does, frame by frame through
the public device interface: the Fourier SLM shows each of the bundle's frames once, every image
is shown on the input SLM and captured. :class:`devices.simulated.bench.SimulatedBench` swaps in
a batched capture (:mod:`devices.simulated.batched`) with the same numbers. Everything else is
shared (:func:`run_bundle`):

1. checks: the bundle was compiled for this bench's system and its SLM (bit depth, levels,
   modulation); otherwise a one-line :class:`fouroptics.errors.ConfigError`;
2. input levels: the bundle's input transmission in [0, 1] through the input SLM's believed LUT,
   or the calibration's inverse LUT when given;
3. exposure (:func:`auto_exposure`): the brightest tile at a target fraction of the camera's
   range, as a lab would set it; a camera that stays dark or saturated is reported with numbers;
4. registration: frames resampled from the measured camera geometry (the calibration's
   input -> camera affine) onto the bundle's nominal one (Lanczos-4, power conserving); without a
   calibration the nominal geometry is used as is;
5. photometry (:func:`fit_photometry`): DN = gain * P_twin + offset fitted over the readout
   windows on a few reference images against the bundle's noise-free twin (absorbs laser power,
   beam, QE, camera gain and exposure); then ``bundle.readout`` gives the features.

The readout reads a few windows: each batch's frames are kept there only (the frames' pixels
that feed them), from a capture that evaluates those pixels (``reads_pixels``, the simulated
bench's) or gathered from full frames (the generic one); the first image's full frames are kept
as the example frame.

A calibration reaches this module as data: any object (or mapping) with ``registration``
((2, 3): camera (row, col) = M @ (input row, col, 1)) and/or ``inverse_lut(role)``; devices
never import calibration/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from devices.interface.errors import DeviceError
from fouroptics.errors import ConfigError

#: capture(bench, bundle, levels (B, H_in, W_in), n_average) -> DN frames (B, F, H_cam, W_cam)
Capture = Callable[..., np.ndarray]


# -- calibration as data --------------------------------------------------------------------------
@dataclass
class RunCalibration:
    """What a run uses from a calibration: the registration affine and the input SLM's inverse
    LUT (levels that linearise it: ``inverse[k]`` shows relative amplitude ``k / (L - 1)``)."""

    registration: np.ndarray | None = None
    input_inverse_lut: np.ndarray | None = None
    source: str = "none"

    @classmethod
    def from_any(cls, cal: Any) -> RunCalibration:
        """From None, a RunCalibration, a mapping or an object with the CalibrationSet accessors
        (``registration``, ``inverse_lut("input_slm")``); a missing section is skipped."""
        if cal is None:
            return cls()
        if isinstance(cal, RunCalibration):
            return cal

        def get(name: str) -> Any:
            try:
                if isinstance(cal, dict):
                    return cal.get(name)
                if name == "input_inverse_lut":
                    inv = getattr(cal, "inverse_lut", None)
                    return inv("input_slm") if callable(inv) else None
                return getattr(cal, name, None)
            except Exception:  # a section the calibration does not hold
                return None

        reg = get("registration")
        inv = get("input_inverse_lut")
        if reg is not None:
            reg = np.asarray(reg, dtype=np.float64)
            if reg.shape != (2, 3) or not np.all(np.isfinite(reg)):
                raise ConfigError(
                    f"calibration.registration: shape {reg.shape}; expected a finite (2, 3) "
                    "affine camera (row, col) = M @ (input row, col, 1)"
                )
        src = str(getattr(cal, "path", None) or getattr(cal, "bench_name", None) or "given")
        if isinstance(cal, dict):
            src = str(cal.get("source", "given"))
        return cls(registration=reg, input_inverse_lut=inv, source=src)


# -- compatibility ------------------------------------------------------------------------------
def check_compatible(bench: Any, bundle: Any) -> None:
    """Refuse a bundle compiled for another system or SLM, with the differing numbers.

    Raises:
        ConfigError: the systems differ, the Fourier SLM's bit depth or modulation differs from
            the bundle's, drive levels out of its range, a ``complex`` bundle on real hardware,
            or an input SLM that does not modulate amplitude.
    """
    diff = [
        f"{name}: bench {a!r}, bundle {b!r}"
        for name, a, b in bench.system.differences(bundle.system)
    ]
    if diff:
        raise ConfigError(
            f"bundle compiled for system {bundle.system.name or '(unnamed)'!r}, not bench "
            f"{bench.name!r}'s ({'; '.join(diff[:4])}); recompile for this bench's system"
        )
    slm = bench.fourier_slm
    if bundle.fourier_levels is None:
        if not getattr(bench, "simulates_complex_masks", False):
            raise ConfigError(
                f"bundle encoding {bundle.encoding!r} has no drive levels: a single "
                f"{slm.modulation} SLM ({slm.label}) cannot show complex masks; compile with "
                "--encoding double-phase, phase or amplitude"
            )
    else:
        info = bundle.slm or {}
        want_bits, want_mod = info.get("bit_depth"), info.get("modulation")
        top = int(np.max(bundle.fourier_levels))
        if (want_bits is not None and want_bits != slm.bit_depth) or top > slm.levels - 1:
            raise ConfigError(
                f"bundle drives a {want_bits}-bit Fourier SLM (levels up to {top}) but bench "
                f"{bench.name!r} has a {slm.bit_depth}-bit {slm.label}; recompile for it"
            )
        if want_mod is not None and want_mod != slm.modulation:
            raise ConfigError(
                f"bundle encodes for a {want_mod} SLM but bench {bench.name!r}'s Fourier SLM "
                f"is {slm.modulation}; recompile with --slm for it"
            )
    if bench.input_slm.modulation != "amplitude":
        raise ConfigError(
            f"bench {bench.name!r}: the input SLM is {bench.input_slm.modulation}; a bundle's "
            "input is an amplitude image (use an amplitude-modulating input SLM)"
        )


def input_levels(
    bench: Any,
    transmission: np.ndarray,
    cal: RunCalibration,
    support: tuple[slice, slice] | None = None,
) -> np.ndarray:
    """Input-SLM gray levels for transmissions in [0, 1] (B, H_in, W_in): the calibration's
    inverse LUT when given, else the SLM's believed LUT (``levels_for``).

    ``support``: a box outside which every transmission is 0 (:func:`_support`); the levels
    are looked up there only, the rest takes the level of 0 (the lookup is per pixel)."""
    if support is not None:
        t = np.asarray(transmission)
        dark = _levels(bench, np.zeros((1,) * t.ndim, dtype=t.dtype), cal).reshape(())
        out = np.full(t.shape, dark, dtype=dark.dtype)
        out[(..., *support)] = _levels(bench, t[(..., *support)], cal)
        return out
    return _levels(bench, transmission, cal)


def _levels(bench: Any, transmission: np.ndarray, cal: RunCalibration) -> np.ndarray:
    slm = bench.input_slm
    if cal.input_inverse_lut is not None:
        inv = np.asarray(cal.input_inverse_lut)
        if inv.shape != (slm.levels,):
            raise ConfigError(
                f"calibration input_slm inverse LUT has {inv.shape} entries; the input SLM "
                f"{slm.label} has {slm.levels} levels"
            )
        k = np.rint(np.clip(transmission, 0, 1) * (slm.levels - 1)).astype(np.int64)
        return inv[k].astype(slm.dtype)
    if slm.lut is None and slm.modulation == "amplitude":  # linear: nearest level, ties down
        return np.ceil(np.clip(transmission, 0, 1) * (slm.levels - 1) - 0.5).astype(slm.dtype)
    return slm.levels_for(np.clip(transmission, 0, 1), clip=True)


# -- geometry -------------------------------------------------------------------------------------
def bilinear_matrix(
    out_shape: tuple[int, int], in_shape: tuple[int, int], a: np.ndarray, b: np.ndarray
) -> sparse.csr_matrix:
    """Sparse (N_out, N_in) matrix of bilinear resampling: ``out[p] = in[a @ p + b]`` for pixel
    indices p (row, col); samples outside ``[0, n - 1]`` give 0 (as ``scipy.ndimage``'s order-1
    ``mode="constant"``). Apply to a batch as ``(M @ x.reshape(-1, N_in).T).T``."""
    return resampling_matrix(out_shape, in_shape, a, b, radius=1)


#: Lanczos radius of the camera-geometry resampling: a camera samples a band-limited image
#: (the intensity of a readout window reaches about 0.37 cycles per pixel on the examples),
#: where bilinear interpolation is off by ~9 % and Lanczos-4 by ~0.5 % (1-D, random phases).
LANCZOS_RADIUS = 4


def resampling_matrix(
    out_shape: tuple[int, int],
    in_shape: tuple[int, int],
    a: np.ndarray,
    b: np.ndarray,
    radius: int = LANCZOS_RADIUS,
) -> sparse.csr_matrix:
    """Sparse (N_out, N_in) resampling ``out[p] = in[a @ p + b]`` (pixel indices (row, col)).

    ``radius`` 1: bilinear (tent); ``r >= 2``: separable Lanczos-r (``sinc(t) sinc(t / r)``,
    (2r)^2 taps), weights normalised to sum to one. Samples outside ``[0, n - 1]`` give 0.
    """
    hy, wx = out_shape
    py, px = np.meshgrid(np.arange(hy), np.arange(wx), indexing="ij")
    pts = np.stack([py.ravel(), px.ravel()]).astype(np.float64)
    src = np.asarray(a, float) @ pts + np.asarray(b, float)[:, None]
    ny, nx = in_shape
    tol = 1e-9
    ok = (src[0] >= -tol) & (src[0] <= ny - 1 + tol) & (src[1] >= -tol) & (src[1] <= nx - 1 + tol)
    idx = np.nonzero(ok)[0]
    sy, sx = np.clip(src[0, idx], 0, ny - 1), np.clip(src[1, idx], 0, nx - 1)
    if radius == 1:
        y0 = np.minimum(np.floor(sy), max(ny - 2, 0)).astype(np.int64)
        x0 = np.minimum(np.floor(sx), max(nx - 2, 0)).astype(np.int64)
    else:
        y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    taps = np.arange(-radius + 1, radius + 1)
    yy = y0[:, None] + taps[None, :]  # (P, 2r)
    xx = x0[:, None] + taps[None, :]

    def kernel(t: np.ndarray) -> np.ndarray:
        if radius == 1:
            return np.maximum(0.0, 1.0 - np.abs(t))
        return np.where(np.abs(t) < radius, np.sinc(t) * np.sinc(t / radius), 0.0)

    wy = kernel(sy[:, None] - yy) * ((yy >= 0) & (yy < ny))
    wx_ = kernel(sx[:, None] - xx) * ((xx >= 0) & (xx < nx))
    w = wy[:, :, None] * wx_[:, None, :]  # (P, 2r, 2r)
    total = w.sum(axis=(1, 2), keepdims=True)
    w /= np.where(total != 0, total, 1)
    cols = np.clip(yy, 0, ny - 1)[:, :, None] * nx + np.clip(xx, 0, nx - 1)[:, None, :]
    rows = np.broadcast_to(idx[:, None, None], w.shape)
    keep = w != 0
    m = sparse.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=(hy * wx, ny * nx))
    m.sum_duplicates()
    return m


def apply_sparse(m: sparse.csr_matrix, frames: np.ndarray, out_shape: tuple[int, int]):
    """``m`` applied to the last two axes of ``frames`` (..., H_in, W_in) -> (..., *out_shape),
    in the input's float precision. A resampling matrix has at most a few entries per row:
    they are gathered column by column (no transposed copies of the batch)."""
    lead = frames.shape[:-2]
    flat = frames.reshape(*lead, frames.shape[-2] * frames.shape[-1])
    return _apply_rows(m, flat).reshape(*lead, *out_shape)


def _apply_rows(m: sparse.csr_matrix, flat: np.ndarray) -> np.ndarray:
    """``m`` (N_out, N_in) applied to the last axis of ``flat`` (..., N_in) -> (..., N_out)."""
    ind, w = _ell(m)
    single = flat.dtype in (np.float32, np.complex64)
    w = w.astype(np.float32 if single else np.float64)
    out = np.take(flat, ind[0], axis=-1) * w[0]
    for k in range(1, len(ind)):  # the few entries per row (4 for bilinear)
        out += np.take(flat, ind[k], axis=-1) * w[k]
    return out


def _ell(m: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(K, N_out) column indices and weights of a CSR matrix with <= K entries per row
    (padded with weight 0), cached on the matrix."""
    hit = getattr(m, "_ell", None)
    if hit is not None:
        return hit
    m = m.tocsr()
    counts = np.diff(m.indptr)
    k = max(int(counts.max()) if counts.size else 1, 1)
    ind = np.zeros((k, m.shape[0]), dtype=np.int64)
    w = np.zeros((k, m.shape[0]), dtype=np.float64)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    slot = np.arange(m.nnz) - np.repeat(m.indptr[:-1], counts)
    ind[slot, rows] = m.indices
    w[slot, rows] = m.data
    m._ell = (ind, w)
    return ind, w


def nominal_registration(system: Any) -> np.ndarray:
    """(2, 3) affine of the nominal system: camera (row, col) = M @ (input row, col, 1)
    (the image inverted and magnified f2 / f1; pixel ``n // 2`` on the axis)."""
    k = -system.magnification * system.input_pitch / system.camera_pitch
    c_in = np.array([s // 2 for s in system.input_shape], dtype=np.float64)
    c_cam = np.array([s // 2 for s in system.camera_shape], dtype=np.float64)
    return np.column_stack([k * np.eye(2), c_cam - k * c_in])


def registration_resampler(system: Any, registration: np.ndarray) -> sparse.csr_matrix:
    """Sparse matrix taking a measured camera frame onto the nominal camera grid, given the
    measured registration (2, 3); scaled by |det| so that power is conserved."""
    m0 = nominal_registration(system)
    k = m0[0, 0]
    lin, off = registration[:, :2], registration[:, 2]
    c_in = np.array([s // 2 for s in system.input_shape], dtype=np.float64)
    c_cam = m0[:, 2] + k * c_in  # == (H // 2, W // 2)
    a = lin / k
    b = off + lin @ (c_in - c_cam / k)
    shape = system.camera_shape
    return resampling_matrix(shape, shape, a, b) * abs(np.linalg.det(a))


# -- photometry and exposure ----------------------------------------------------------------
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


@dataclass
class ExposureReport:
    """Chosen exposure (s), brightest window level (fraction of the camera range) and notes."""

    exposure: float
    fraction: float
    target: float
    steps: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def auto_exposure(
    bench: Any,
    grab: Callable[[], np.ndarray],
    windows: np.ndarray,
    target: float = 0.5,
    offset: float | None = None,
    max_steps: int = 12,
) -> ExposureReport:
    """Set ``bench.camera.exposure`` so the brightest readout-window pixel of a few probe
    frames sits at ``target`` x the camera's range (ADC top minus black level).

    Args:
        grab: returns DN frames (B, F, H, W) at the current exposure.
        windows: (F, H, W) readout windows (``bundle.window_mask()``).
        offset: black level in DN (default: the frames' 1st percentile outside the windows).

    Raises:
        DeviceError: still saturated at the shortest exposure.
    """
    cam = bench.camera
    lo, hi = cam.exposure_limits
    top = saturation_dn(cam)
    rep = ExposureReport(exposure=cam.exposure, fraction=0.0, target=target)
    for _ in range(max_steps):
        dn = grab()
        if offset is None:
            outside = dn[:, ~windows] if (~windows).any() else dn.reshape(len(dn), -1)
            offset = float(np.percentile(outside, 1))
        peak = float(dn[np.broadcast_to(windows, dn.shape)].max())
        span = max(top - offset, 1.0)
        frac = (peak - offset) / span
        exp = cam.exposure
        rep.steps.append({"exposure": exp, "fraction": frac})
        rep.exposure, rep.fraction = exp, frac
        if peak >= top:  # saturated: halve (no scale to trust)
            new = max(exp / 2, lo)
            if exp <= lo * (1 + 1e-9):
                raise DeviceError(
                    cam.label,
                    f"saturated at the shortest exposure {lo:g} s (brightest window pixel at "
                    f"{peak:.0f} DN of {top:.0f})",
                    "lower the laser power or add a neutral density filter",
                )
        else:
            if frac <= 0:
                new = min(exp * 10, hi)
            else:
                new = float(np.clip(exp * target / frac, lo, hi))
            if abs(new - exp) <= 0.02 * exp:
                break
        if new == exp:
            break
        cam.exposure = new
    if rep.fraction < 0.02:
        rep.warnings.append(
            f"dark camera: the brightest readout window reaches {100 * rep.fraction:.2g} % of "
            f"the {top:.0f} DN range at exposure {rep.exposure:g} s (longest {hi:g} s); raise the "
            "laser power"
        )
    return rep


# -- the run ---------------------------------------------------------------------------------------
def capture_generic(
    bench: Any,
    bundle: Any,
    levels: np.ndarray,
    n_average: int = 1,
    **_: Any,
) -> np.ndarray:
    """DN frames (B, F, H_cam, W_cam) float64 through the public device interface: the Fourier
    SLM shows each bundle frame once; each image is shown on the input SLM and captured
    (``n_average`` frames averaged)."""
    if bundle.fourier_levels is None:
        raise ConfigError(
            f"bundle encoding {bundle.encoding!r} has no drive levels for the Fourier SLM; "
            "compile with --encoding double-phase, phase or amplitude"
        )
    b = len(levels)
    out = np.empty((b, bundle.n_frames, *bench.camera.shape), dtype=np.float64)
    for f in range(bundle.n_frames):
        bench.fourier_slm.display(bundle.fourier_levels[f])
        for i in range(b):
            bench.input_slm.display(levels[i])
            out[i, f] = bench.camera.capture(n_average, average=True)
    return out


@dataclass
class RunStats:
    """Diagnostics of a run (filled by :func:`run_bundle`)."""

    exposure: ExposureReport | None = None
    photometry: Photometry | None = None
    frames: int = 0
    saturated_fraction: float = 0.0
    mean_photons_per_pixel: float | None = None
    example_frame: np.ndarray | None = None
    calibration: str = "none"
    warnings: list[str] = field(default_factory=list)


def run_bundle(
    bench: Any,
    bundle: Any,
    images: Any,
    calibration: Any = None,
    *,
    capture: Capture = capture_generic,
    reference: Any = None,
    exposure: float | None = None,
    photometry: Photometry | None = None,
    target: float = 0.5,
    n_average: int = 1,
    batch: int = 64,
    stats: RunStats | None = None,
    progress: Callable[[int], None] | None = None,
    capture_options: dict[str, Any] | None = None,
) -> np.ndarray:
    """Features (B, C, n_out, n_out) of ``images`` (B, C_in, n, n) measured on ``bench``.

    Args:
        calibration: registration / inverse LUT as data (see :class:`RunCalibration`).
        capture: frames for input levels (generic, or the simulated bench's batched one).
        reference: images for the exposure and photometry (default: the first 16 of
            ``images``; a lab uses training images).
        exposure: seconds; None chooses it (:func:`auto_exposure`, brightest tile at
            ``target`` of the camera range).
        photometry: reuse a fitted camera response (with ``exposure``: several runs on one
            scale, as fine-tuning needs); None fits it on ``reference``.
        n_average: frames averaged per image and bundle frame.
        batch: images per capture call.
        stats: filled with diagnostics (exposure, photometry, saturation, photons).
        progress: called with the number of (image, frame) captures done after each batch.
    """
    check_compatible(bench, bundle)
    cal = RunCalibration.from_any(calibration)
    stats = stats if stats is not None else RunStats()
    stats.calibration = cal.source
    opts = dict(capture_options or {})
    ref = images[:16] if reference is None else reference
    ref_levels = None
    if exposure is None or photometry is None:
        ref_levels = input_levels(bench, bundle.input_transmission(ref), cal, _support(bundle))
    windows = bundle.window_mask()
    resample = None
    if cal.registration is not None:
        resample = registration_resampler(bundle.system, cal.registration)

    meas_windows = windows if resample is None else _measured_windows(resample, windows)

    def grab(levels: np.ndarray) -> np.ndarray:
        return capture(bench, bundle, levels, n_average=n_average, windows=meas_windows, **opts)

    if exposure is None:
        probe = ref_levels[: min(4, len(ref_levels))]
        stats.exposure = auto_exposure(bench, lambda: grab(probe), meas_windows, target=target)
        stats.warnings += stats.exposure.warnings
    else:
        bench.camera.exposure = exposure
        stats.exposure = ExposureReport(bench.camera.exposure, float("nan"), target)
    # the readout reads a few windows: frames are gathered there (``gather``: the nominal
    # windows and the measured pixels that feed them); captures that can, evaluate them there
    read = np.flatnonzero(windows.any(axis=0))
    gather = np.union1d(read, np.flatnonzero(meas_windows.any(axis=0)))
    at_read = np.searchsorted(gather, read)
    in_window = windows.reshape(len(windows), -1)[:, gather]  # (F, G)
    to_read = None if resample is None else _rows_on(resample, read, gather)

    def at_readout(vals: np.ndarray) -> np.ndarray:
        """(B, F, G) DN at the gathered pixels -> (B, F, R) on the nominal grid's read pixels."""
        return vals[:, :, at_read] if to_read is None else _apply_rows(to_read, vals)

    if photometry is None:  # fitted at the read pixels, where the twin is evaluated too
        vals, _ = _grab_pixels(capture, bench, bundle, ref_levels, n_average, meas_windows,
                               gather, False, opts)  # fmt: skip
        twin = bundle.camera_frames(ref, pixels=read)
        photometry = fit_photometry(
            at_readout(vals), twin, windows.reshape(len(windows), -1)[:, read]
        )
    stats.photometry = photometry
    tiles, starts = _tile_pixels(bundle, gather)
    n = len(images)
    frame_bytes = bundle.n_frames * windows[0].size * 8
    batch = max(1, min(batch, n, int(1e9 // frame_bytes)))  # about 1 GB of power per batch
    power = _readout_buffer(bench, (batch, bundle.n_frames, windows[0].size), read)
    feats, sat, n_px, photons = [], 0, 0, []
    top = saturation_dn(bench.camera)
    support = _support(bundle)
    for i in range(0, n, batch):
        levels = input_levels(bench, bundle.input_transmission(images[i : i + batch]), cal, support)
        vals, first = _grab_pixels(capture, bench, bundle, levels, n_average, meas_windows,
                                   gather, stats.example_frame is None, opts)  # fmt: skip
        b = vals.shape[0]
        if progress is not None:
            progress(b * vals.shape[1])
        if first is not None:
            stats.example_frame = first
        sat += int(np.count_nonzero((vals >= top) & in_window))
        n_px += b * int(np.count_nonzero(in_window))
        photons.append(_photons(bench, vals, tiles, starts, stats.photometry))
        power[:b, :, read] = stats.photometry.power(at_readout(vals))
        feats.append(bundle.readout(power[:b].reshape(b, *windows.shape)))
        stats.frames += b * vals.shape[1]
    stats.saturated_fraction = sat / max(n_px, 1)
    ph = [p for p in photons if p is not None]
    stats.mean_photons_per_pixel = float(np.mean(ph)) if ph else None
    if stats.saturated_fraction > 1e-3:
        stats.warnings.append(
            f"saturated camera: {100 * stats.saturated_fraction:.2g} % of the readout pixels at "
            f"{top:.0f} DN (exposure {bench.camera.exposure:g} s); shorten the exposure"
        )
    return np.concatenate(feats) if feats else np.zeros((0,))


def saturation_dn(camera: Any) -> float:
    """DN at which a pixel is saturated: the ADC top, or the full well when the camera states
    its EMVA parameters and the full well comes first."""
    top = float(camera.max_value)
    p = getattr(camera, "params", None)
    if p is not None:
        top = min(top, float(np.floor(p.gain * p.full_well + p.black_level)))
    return top


def _measured_windows(resample: sparse.csr_matrix, windows: np.ndarray) -> np.ndarray:
    """Windows on the measured camera grid: pixels that feed any nominal window pixel."""
    used = (abs(resample).T @ windows.reshape(len(windows), -1).T.astype(np.float64)).T
    return used.reshape(windows.shape) > 0


def _photons(
    bench: Any, vals: np.ndarray, tiles: np.ndarray, starts: np.ndarray, phot: Photometry
) -> float | None:
    """Mean photons per pixel in the brightest tile (mean over images), from the camera's gain
    and QE when the camera states them (simulated cameras), else None. ``vals`` (B, F, G):
    DN at the gathered pixels; ``tiles``, ``starts``: :func:`_tile_pixels`."""
    params = getattr(bench.camera, "params", None)
    if params is None:
        return None
    sel = vals.reshape(len(vals), -1)[:, tiles]  # (B, window pixels), tile after tile
    sums = np.add.reduceat(sel, starts, axis=1)
    counts = np.diff(np.append(starts, len(tiles)))
    e = (sums / counts - phot.offset) / (params.gain * params.quantum_efficiency)
    return float(e.max(axis=1).mean())


def _tile_pixels(bundle: Any, gather: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _support(bundle: Any) -> tuple[slice, slice]:
    """The box of input-SLM pixels where the bundle's transmission can be non-zero (its
    blocks: a full-scale image shows there, and only there)."""
    full = np.full((1, *bundle.image_shape), bundle.meta["image_scale"], dtype=np.float32)
    rows, cols = np.nonzero(bundle.input_transmission(full)[0])
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)


def _readout_buffer(bench: Any, shape: tuple[int, ...], read: np.ndarray) -> np.ndarray:
    """float64 power frames ``shape`` (B, F, H * W), zero but at the ``read`` pixels (which
    every batch overwrites). One is kept on the bench for the next run of the same shape and
    pixels, so its pages are not faulted in again (about 1 GB at most, see run_bundle)."""
    held = getattr(bench, "_readout_buffer", None)
    if held is not None and held[0].shape == shape and np.array_equal(held[1], read):
        return held[0]
    buf = np.zeros(shape)
    try:
        bench._readout_buffer = (buf, read)
    except AttributeError:  # a bench that takes no attributes: no reuse
        pass
    return buf


def _rows_on(m: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> sparse.csr_matrix:
    """The ``rows`` of ``m`` on the columns ``cols`` (sorted; they hold every entry of them)."""
    return m[rows][:, cols].tocsr()


def _grab_pixels(
    capture: Capture,
    bench: Any,
    bundle: Any,
    levels: np.ndarray,
    n_average: int,
    windows: np.ndarray,
    pixels: np.ndarray,
    first: bool,
    opts: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray | None]:
    """DN at the flat camera ``pixels`` of every frame (B, F, P) and, with ``first``, the first
    image's frames (F, H, W): from a capture that evaluates pixels (``reads_pixels``), else
    gathered from its full frames."""
    kw = dict(n_average=n_average, windows=windows, **opts)
    if getattr(capture, "reads_pixels", False):
        return capture(bench, bundle, levels, pixels=pixels, first=first, **kw)
    raw = capture(bench, bundle, levels, **kw)
    vals = raw.reshape(*raw.shape[:2], -1)[:, :, pixels]
    return vals, (raw[0].copy() if first else None)
