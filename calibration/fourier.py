"""Where the optical axis crosses the Fourier SLM (sub-pixel), the Fourier plane's scale
(``lambda f1 / p_F`` per unit spatial frequency, relative to the nominal f1) and its rotation.

The input SLM shows a real, non-negative pattern: a Gaussian envelope times
``2 + cos(2 pi x / period) + cos(2 pi y / period)``. Its spectrum on the Fourier SLM is five
peaks, at the axis and at ``+-lambda f1 / (period p_in)`` along each axis, and each peak's
intensity is symmetric about its own centre (the pattern is real). A peak's centre along x is
found with two adjacent flat regions of the Fourier SLM, A = columns [c - h, c) and B =
[c, c + h) over the peak's rows, while every other pixel shows a steep blazed grating that
throws its light out of a camera window around the image. With ``I`` the image of the whole
spectrum and ``J_A``, ``J_B`` those of the two regions, the window holds
``E = eta I + (1 - eta) J`` (``eta``: whatever the grating leaves undeflected, gap light
included), and ``W_A - W_B = c (F_A - F_B)`` with ``F`` the spectral power in each region, for
any eta: it changes sign where the boundary ``c - 1/2`` crosses the peak's centre. A cubic
through ``W_A - W_B`` over a few boundary positions gives the crossing to a small fraction of
a pixel. The peaks' centres then give the axis (their centre), the scale and the rotation
(least squares of ``centre + s R(theta) nominal offset``).

Last, :func:`kspace_to_camera` measures the affine from a Fourier-SLM grating's frequency to
the camera position of the image it moves (what slmsuite's ``fourier_calibrate`` measures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.fit_patterns import STEPS, fourier_pattern
from calibration.patterns import blazed_levels
from calibration.registration import fit_affine, spot_centre
from calibration.session import Session


@dataclass
class FourierMapping:
    """The Fourier SLM's centre (pixel row, col of the axis), scale and rotation."""

    centre_px: tuple[float, float]
    scale: float  # true f1 / nominal f1 (Fourier-plane distance per spatial frequency)
    rotation_rad: float
    peaks_px: np.ndarray  # (n, 2) measured peak centres
    kspace_to_camera: np.ndarray | None = None  # (2, 3): camera px = M @ (k_y, k_x, 1)
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        out = {
            "centre_px": [float(v) for v in self.centre_px],
            "scale": float(self.scale),
            "rotation_rad": float(self.rotation_rad),
            "peaks_px": np.asarray(self.peaks_px, np.float64),
            "raw": dict(self.raw),
        }
        if self.kspace_to_camera is not None:
            out["kspace_to_camera"] = np.asarray(self.kspace_to_camera, np.float64)
        return out


def kspace_to_camera(
    session: Session,
    registration: np.ndarray | None = None,
    inverse_phase: np.ndarray | None = None,
    period: float = 16.0,
    n_frames: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """The affine from a blazed grating's spatial frequency on the Fourier SLM (k_y, k_x in
    cycles per Fourier pixel) to where it moves the image of an input dot on the camera
    (camera px): what slmsuite's ``fourier_calibrate`` measures, here through our Bench.

    A 4-pixel dot at the input's centre is imaged with no grating and with gratings of
    ``period`` pixels along +-y and +-x; each image is located by
    :func:`calibration.registration.spot_centre`. Frames: 5 x ``n_frames`` plus exposure.

    Returns:
        (2, 3) affine and the residuals (5, 2), camera px.
    """
    slm = session.bench.input_slm
    h, w = session.input_shape
    dot = np.zeros((h, w), dtype=np.int64)
    r0, c0 = h // 2 - 2, w // 2 - 2
    dot[r0 : r0 + 4, c0 : c0 + 4] = slm.levels - 1
    hf, wf = session.fourier_shape
    n_levels = session.bench.fourier_slm.levels
    affine = session.bench.system.imaging_affine() if registration is None else registration
    start = affine @ np.r_[h // 2 - 0.5, w // 2 - 0.5, 1.0]
    sys_ = session.bench.system
    step = sys_.wavelength * sys_.f2 / (period * sys_.fourier_pitch * sys_.camera_pitch)
    ks = np.array([(0.0, 0.0), (1, 0), (-1, 0), (0, 1), (0, -1)]) / period
    sigma = max(1.5, 2.4 * abs(affine[0, 0]))
    spots = []
    for i, (ky, kx) in enumerate(ks):
        per = (1 / ky if ky else np.inf, 1 / kx if kx else np.inf)
        pattern = blazed_levels((hf, wf), per, inverse_phase, n_levels)
        session.display(dot if i == 0 else None, pattern)
        if i == 0:
            session.auto_expose(target=0.5, percentile=99.99)
            dark = session.dark_frame(2)
        image = np.maximum(session.capture(n_frames) - dark, 0.0)
        guess = start + np.array([ky, kx]) * period * step  # +lambda f2 nu on the camera
        y0, x0 = int(round(guess[0])), int(round(guess[1]))
        box = image[y0 - 8 : y0 + 9, x0 - 8 : x0 + 9]
        if box.size == 0 or box.max() <= 0:
            raise CalibrationError(
                "fourier: a grating-shifted image of the input dot is off the camera or dark: "
                "use a longer grating period"
            )
        pr, pc = np.unravel_index(np.argmax(box), box.shape)
        spots.append(spot_centre(image, (y0 - 8 + pr, x0 - 8 + pc), sigma))
    m, res = fit_affine(ks, np.array(spots))
    return m, res


def zero_crossing(positions: np.ndarray, values: np.ndarray) -> float:
    """Root of a cubic least-squares fit of ``values`` over ``positions`` nearest their middle."""
    x0 = float(np.mean(positions))
    coef = np.polyfit(positions - x0, values, min(3, len(positions) - 1))
    roots = np.roots(coef)
    real = roots[np.abs(roots.imag) < 1e-9].real
    if len(real) == 0:
        raise CalibrationError("fourier: the split-power difference never changes sign")
    return float(real[np.argmin(np.abs(real))] + x0)


def fit_similarity(
    offsets: np.ndarray, measured: np.ndarray
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """``measured = centre + s R(theta) offsets`` (rows, cols) by linear least squares.

    Returns:
        centre (2,), s, theta (radians; + turns the row axis towards the column axis... as
        ``[[cos, -sin], [sin, cos]]`` acting on (row, col)), residuals (n, 2).
    """
    n = len(offsets)
    a = np.zeros((2 * n, 4))
    a[0::2, 0] = 1
    a[1::2, 1] = 1
    a[0::2, 2], a[0::2, 3] = offsets[:, 0], -offsets[:, 1]
    a[1::2, 2], a[1::2, 3] = offsets[:, 1], offsets[:, 0]
    sol, *_ = np.linalg.lstsq(a, measured.reshape(-1), rcond=None)
    res = measured.reshape(-1) - a @ sol
    return sol[:2], float(np.hypot(sol[2], sol[3])), float(np.arctan2(sol[3], sol[2])), res


def _input_pattern(
    session: Session, period: int, sigma: float, inverse_amplitude: np.ndarray | None
) -> tuple[np.ndarray, tuple[float, float]]:
    slm = session.bench.input_slm
    if slm.modulation == "phase":  # a phase cross grating: the beam is the envelope
        from calibration.phase_input import cross_grating_levels

        return cross_grating_levels(session.input_shape, period, slm.levels)
    h, w = session.input_shape
    rc, cc = h // 2, w // 2
    rr, col = np.mgrid[:h, :w].astype(np.float64)
    env = np.exp(-((rr - rc) ** 2 + (col - cc) ** 2) / (2 * sigma**2))
    target = (
        env
        * (2 + np.cos(2 * np.pi * (col - cc) / period) + np.cos(2 * np.pi * (rr - rc) / period))
        / 4
    )
    n = slm.levels
    k = np.clip(np.rint(target * (n - 1)), 0, n - 1).astype(np.int64)
    levels = k if inverse_amplitude is None else np.asarray(inverse_amplitude)[k]
    return levels, (float(rc), float(cc))


@dataclass
class SplitSetup:
    """What the split-region measurement of a spectral peak needs (:func:`peak_centre`): the
    camera ``window`` around the input pattern's image, its ``dark`` sum, the two steep blazed
    gratings that throw the rest of the Fourier SLM's light out of it, and the flat level."""

    window: np.ndarray
    dark: float
    ramp_rows: np.ndarray
    ramp_cols: np.ndarray
    flat_level: int


def split_setup(
    session: Session,
    registration: np.ndarray | None,
    inverse_phase: np.ndarray | None,
    inverse_amplitude: np.ndarray | None,
    period: int,
    sigma: float,
) -> SplitSetup:
    """Show the input pattern (Fourier SLM flat), expose, and take the window's dark sum.

    The window holds the envelope's image out to 4 ``sigma``, or less where the steepest
    deflecting grating (2 pixels) could not move a copy of the image clear of it (2.5 radii)."""
    sys_ = session.bench.system
    hf, wf = session.fourier_shape
    levels, centre_in = _input_pattern(session, period, sigma, inverse_amplitude)
    affine = sys_.imaging_affine() if registration is None else np.asarray(registration)
    cy, cx = affine @ np.r_[centre_in, 1.0]
    ych, xch = np.mgrid[: session.camera_shape[0], : session.camera_shape[1]]
    mag = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    # deflect the rest of the Fourier SLM beyond the window and the image
    shift_per_cycle = sys_.wavelength * sys_.f2 / (sys_.fourier_pitch * sys_.camera_pitch)
    radius = 4.0 * sigma * mag
    extent = 1.5 * radius  # the image's reach beyond the window: the envelope's, or on a
    if session.bench.input_slm.modulation == "phase":  # phase-only input the lit panel's
        extent = mag * max(session.input_shape) / np.sqrt(2)
    else:  # a wide envelope: the window shrinks until a 2-px grating still clears it
        radius = min(radius, shift_per_cycle / (2.0 * 2.5))
        extent = 1.5 * radius
    window = (ych - cy) ** 2 + (xch - cx) ** 2 <= radius**2
    grating_period = max(2.0, np.floor(shift_per_cycle / (radius + extent)))
    n_levels = session.bench.fourier_slm.levels
    ramp_rows = blazed_levels((hf, wf), (grating_period, np.inf), inverse_phase, n_levels)
    ramp_cols = blazed_levels((hf, wf), (np.inf, grating_period), inverse_phase, n_levels)
    flat_level = 0 if inverse_phase is None else int(np.asarray(inverse_phase)[0])
    session.display(levels, np.full((hf, wf), flat_level, dtype=np.int64))
    session.auto_expose(target=0.5, percentile=99.99)
    dark = float(session.dark_frame(4)[window].sum())
    return SplitSetup(window, dark, ramp_rows, ramp_cols, flat_level)


def peak_centre(
    session: Session,
    setup: SplitSetup,
    peak: np.ndarray,
    half_band: int,
    steps: tuple[int, ...],
    n_frames: int = 1,
) -> tuple[list[float], list[np.ndarray]]:
    """Centre (row, col) of the spectral peak near Fourier pixel ``peak``: the boundary of two
    adjacent flat regions where their window powers cross (see the module); frames:
    2 axes x 2 regions x ``len(steps)``. Returns the centre and the power differences per
    axis."""
    centre, diffs = [], []
    for axis in (0, 1):  # 0: boundary between rows (centre row); 1: between columns
        base = setup.ramp_cols if axis == 0 else setup.ramp_rows
        p_axis, p_other = int(round(peak[axis])), int(round(peak[1 - axis]))
        band = slice(p_other - half_band, p_other + half_band + 1)
        d = []
        for s in steps:
            c = p_axis + s
            w = []
            for region in (slice(c - half_band, c), slice(c, c + half_band)):
                pattern = base.copy()
                if axis == 1:
                    pattern[band, region] = setup.flat_level
                else:
                    pattern[region, band] = setup.flat_level
                session.display(None, pattern)
                w.append(float(session.capture(n_frames)[setup.window].sum()) - setup.dark)
            d.append(w[0] - w[1])
        d = np.array(d)
        boundary = p_axis + np.array(steps, dtype=np.float64) - 0.5
        if not (d.max() > 0 > d.min()):
            raise CalibrationError(
                f"fourier: the spectral peak near Fourier pixel {tuple(np.round(peak, 1))} "
                f"is not within {min(steps)}..{max(steps)} pixels of where the believed "
                "system puts it: check f1, the pitches and the alignment of the Fourier SLM"
            )
        centre.append(zero_crossing(boundary, d))
        diffs.append(d)
    return centre, diffs


def fourier_mapping(
    session: Session,
    registration: np.ndarray | None = None,
    inverse_phase: np.ndarray | None = None,
    inverse_amplitude: np.ndarray | None = None,
    period: int | None = None,
    sigma: float | None = None,
    half_band: int | None = None,
    steps: tuple[int, ...] = STEPS,
    n_frames: int = 1,
) -> FourierMapping:
    """Measure the Fourier SLM's centre, scale and rotation.

    Args:
        registration: (2, 3) input -> camera affine (default: the believed, nominal one).
        inverse_phase, inverse_amplitude: measured inverse LUTs of the Fourier and input SLMs
            (better blazed gratings and input patterns; not required).
        period: input grating period, input pixels. sigma: envelope rms, input pixels (see
            :func:`calibration.fit_patterns.fourier_pattern`: wide, because the input pixels'
            aperture tilts each side peak's power towards the axis, and a slope ``beta`` of
            its log moves a Gaussian peak of rms ``s`` by ``beta s**2``, ``s`` going as
            ``1 / sigma``: on misaligned_noisy.yaml sigma 12 read the scale 5e-4 low, 32
            5e-5; a 2.4e-3 error cost the calibrated MNIST run NRMSE 0.143 against 0.031,
            its channel ~116 input pixels off the axis).
        half_band: width of each flat region, Fourier pixels (None: each chosen from the
            SLMs' shapes and pitches, :func:`calibration.fit_patterns.fourier_pattern`, which
            refuses a period that does not fit). steps: boundary positions around the
            nominal peak, pixels.

    Frames: 5 peaks x 2 axes x 2 regions x ``len(steps)`` (``n_frames`` each), plus exposure
    and dark frames, plus those of :func:`kspace_to_camera`.
    """
    session.start("fourier")
    sys_ = session.bench.system
    hf, wf = session.fourier_shape
    fslm = session.bench.fourier_slm
    if fslm.modulation != "phase":
        raise CalibrationError("fourier: needs a phase Fourier SLM (blazed gratings)")
    fit = fourier_pattern(sys_, period)
    period = fit.period
    sigma = fit.sigma if sigma is None else sigma
    half_band = fit.half_band if half_band is None else half_band
    g = fit.peak_distance
    reach = g + half_band + max(abs(s) for s in steps) + 2
    if 2 * reach >= min(hf, wf):
        raise CalibrationError(
            f"fourier: the spectrum of a {period}-pixel input grating reaches {reach:.0f} Fourier "
            f"pixels from the axis, beyond the Fourier SLM ({hf}x{wf}): use a longer period"
        )
    setup = split_setup(session, registration, inverse_phase, inverse_amplitude, period, sigma)
    nominal = np.array([(0.0, 0.0), (0.0, g), (0.0, -g), (g, 0.0), (-g, 0.0)])
    c0 = np.array([hf // 2, wf // 2], dtype=np.float64)
    found, diffs = [], []
    for off in nominal:
        centre, d = peak_centre(session, setup, c0 + off, half_band, steps, n_frames)
        found.append(centre)
        diffs.extend(d)
    found_a = np.array(found)
    centre, scale, rotation, res = fit_similarity(nominal, found_a)
    kmap, kres = None, np.zeros((0, 2))
    if session.bench.input_slm.modulation != "phase":  # its dot does not show without a filter
        kmap, kres = kspace_to_camera(session, registration, inverse_phase)
    return FourierMapping(
        centre_px=(float(centre[0]), float(centre[1])),
        scale=scale,
        rotation_rad=rotation,
        peaks_px=found_a,
        kspace_to_camera=kmap,
        raw={
            "kspace_residuals_px": kres,
            "nominal_offsets_px": nominal,
            "split_power_differences": np.array(diffs),
            "boundary_steps_px": np.array(steps),
            "fit_residuals_px": res.reshape(-1, 2),
        },
    )
