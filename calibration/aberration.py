"""The aberration of the Fourier path (defocus, astigmatism, coma, spherical, trefoil), measured
by sensorless modal wavefront sensing through the bench's own devices.

Method (after Booth, Neil, Juskaitis and Wilson, PNAS 99, 5788 (2002)): the input SLM shows a
grid of single bright pixels; their spectrum covers the Fourier SLM with a smooth, positive
envelope, so each dot's image on the camera is the point-spread function of the whole Fourier
path. The Fourier SLM shows a blazed grating (through the measured phase LUT) plus a trial
wavefront ``C = sum_k c_k Z_k`` (:mod:`fouroptics.optics.zernike`, centred on the measured
optical axis, normalised by the panel's half-width). The grating sends the light the pixels
modulate to a first order beside each dot's zero order, away from the unmodulated gap light,
so the first-order images see ``W + C`` only. The input's smooth unmodulated light (the amplitude
floor, with its own phase: the amplitude SLM's phase coupling) focuses within a few pixels of
the axis and goes to the first order with the dots: under their images it interferes with each
point image coherently, a term odd in defocus (a defocused point's field turns its phase at
the centre), which moved the sharpest image 0.1-0.2 rad of defocus away from ``C = -W`` on the
misaligned bench. Each probe is therefore captured twice, the disc about the axis that holds
that light (:func:`dc_block_radius`) shifted by 0 and by pi: the mean frame keeps
``|P|^2 + |B|^2`` and drops the cross term (the disc holds ~1e-4 of the dots' light). Their
sharpness
``S = sum I^2 (r <= r_in) / (sum I (r <= r_out))^2`` (summed over the dots, whose images fall
on different sub-pixel phases of the camera) is largest when ``C = -W`` (a flat wavefront
gives the sharpest image of a point). Each term in turn is probed at ``c_k - b_k``, ``c_k``,
``c_k + b_k`` and moved to the vertex of the parabola through ``log S`` (exact for a Gaussian
fall-off); each round probes every term about the same point (``2 K + 1`` probes, after Booth's
modal scheme) and moves them all; a second round absorbs the coupling of terms that are not
orthogonal over the square panel. The measured wavefront is ``W = -C``.

Frames: ``rounds x (2 len(terms) + 1)`` probes, each two displays (the disc at 0 and pi) of
``n_frames / 2`` captures (at least one), plus the exposure and dark frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.patterns import phase_levels
from calibration.registration import spot_centre
from calibration.session import Session
from fouroptics.optics.panel import panel_map
from fouroptics.optics.zernike import TERMS, default_radius_px, pixel_coordinates, term


@dataclass
class AberrationResult:
    """The measured Fourier-path wavefront ``W = sum_k coefficients[k] Z_k`` (radians).

    Attributes:
        terms: term names (:data:`fouroptics.optics.zernike.TERMS` order).
        coefficients: (n,) radians, the unnormalised Zernike coefficients of ``W``.
        centre_px: (row, col) Fourier-SLM pixel where the basis is centred (the measured axis).
        radius_px: normalising radius, Fourier pixels (the panel's half-width).
        raw: sharpness metrics, trial coefficients, spot positions.
    """

    terms: tuple[str, ...]
    coefficients: np.ndarray
    centre_px: tuple[float, float]
    radius_px: float
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def by_term(self) -> dict[str, float]:
        return {t: float(c) for t, c in zip(self.terms, self.coefficients, strict=True)}

    def to_payload(self) -> dict[str, Any]:
        return {
            "terms": list(self.terms),
            "coefficients": np.asarray(self.coefficients, np.float64),
            "centre_px": [float(v) for v in self.centre_px],
            "radius_px": float(self.radius_px),
            "raw": dict(self.raw),
        }


def _pupil_weight(sys_: Any, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Believed intensity on the Fourier SLM of one input pixel's spectrum at (v, u) Fourier
    pixels from the axis (rows (H, 1), cols (1, W)): ``sinc^2`` of each axis' spatial
    frequency times the input pitch."""
    k = sys_.fourier_pitch * sys_.input_pitch / (sys_.wavelength * sys_.f1)
    return (np.sinc(v * k) * np.sinc(u * k)) ** 2


def dc_block_radius(sys_: Any, input_shape: tuple[int, int]) -> float:
    """Fourier pixels: the radius of the disc about the axis that holds the input panel's
    smooth light (its floor): twice the first zero ``lambda f1 / (N p_in)`` of the lit
    aperture's spectrum (``N`` input pixels on its shorter side), at least 2 pixels."""
    lobe = sys_.wavelength * sys_.f1 / (min(input_shape) * sys_.input_pitch * sys_.fourier_pitch)
    return max(2.0, 2.0 * lobe)


def _orthonormal_modes(zern: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Modes (K, H, W) orthonormal under ``weight`` over the panel, each a combination of the
    Zernike terms ``zern`` (K, H, W) less their weighted piston and tilts (which do not change
    a point image's sharpness), and the (K, K) matrix ``T`` with Zernike coefficients
    ``c = T m`` of the wavefront ``sum_j m_j mode_j``."""
    w = (weight / weight.sum()).reshape(-1)
    flat = zern.reshape(len(zern), -1)
    h, wd = zern.shape[1:]
    rows = np.repeat(np.arange(h, dtype=np.float64), wd)
    cols = np.tile(np.arange(wd, dtype=np.float64), h)
    low = np.stack([np.ones_like(rows), rows / h, cols / wd])  # piston, tilts (3, N)
    proj = np.linalg.solve((low * w) @ low.T, (low * w) @ flat.T)  # (3, K)
    resid = flat - proj.T @ low
    gram = (resid * w) @ resid.T  # (K, K)
    chol = np.linalg.cholesky(gram)
    to_modes = np.linalg.inv(chol)  # modes = L^-1 resid: orthonormal under w
    modes = (to_modes @ resid).reshape(zern.shape)
    return modes, to_modes.T  # sum_j m_j mode_j = (L^-T m) . resid


def _dots(session: Session, spacing: int, count: int, inverse_amplitude: np.ndarray | None):
    """Input levels with ``count x count`` single bright pixels ``spacing`` apart about the
    centre, and their (row, col) positions (n, 2)."""
    h, w = session.input_shape
    slm = session.bench.input_slm
    if slm.modulation == "phase":
        raise CalibrationError(
            "aberration: the input SLM is phase-only; this routine needs an amplitude input SLM"
        )
    offsets = (np.arange(count) - (count - 1) / 2) * spacing
    rows = np.round(h // 2 + offsets).astype(np.int64)
    cols = np.round(w // 2 + offsets).astype(np.int64)
    if rows.min() < 0 or rows.max() >= h or cols.min() < 0 or cols.max() >= w:
        raise CalibrationError(
            f"aberration: a {count}x{count} dot grid {spacing} pixels apart does not fit the "
            f"input SLM ({h}x{w}): use fewer dots or a smaller spacing"
        )
    top = slm.levels - 1
    on = top if inverse_amplitude is None else int(np.asarray(inverse_amplitude)[top])
    off = 0 if inverse_amplitude is None else int(np.asarray(inverse_amplitude)[0])
    levels = np.full((h, w), off, dtype=np.int64)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    levels[rr, cc] = on
    return levels, np.column_stack([rr.ravel(), cc.ravel()]).astype(np.float64)


def measure_aberration(
    session: Session,
    centre_px: tuple[float, float] | None = None,
    registration: np.ndarray | None = None,
    inverse_phase: np.ndarray | None = None,
    inverse_amplitude: np.ndarray | None = None,
    panel: np.ndarray | None = None,
    terms: tuple[str, ...] = TERMS,
    rounds: int = 2,
    bias_rad: float = 0.6,
    spacing: int = 20,
    count: int | None = None,
    box: int = 8,
    n_frames: int = 2,
    dc_block_px: float | None = None,
) -> AberrationResult:
    """Measure the Fourier-path wavefront by sensorless modal sensing (module docstring).

    Args:
        centre_px: (row, col) of the optical axis on the Fourier SLM (the "fourier" routine's
            ``centre_px``; default: the panel's centre pixel ``n // 2``).
        registration: (2, 3) input -> camera affine (default: the believed, nominal one).
        inverse_phase, inverse_amplitude: measured inverse LUTs of the Fourier and input SLMs.
        panel: (6,) the Fourier SLM's measured map across its panel
            (:mod:`fouroptics.optics.panel`): the trial patterns are shown through it, so that
            a cell-gap bowl (which offsets a blazed grating's first order by ``pi (m - 1)``)
            is not taken for the optics' defocus.
        terms: the Zernike terms measured (:data:`fouroptics.optics.zernike.TERMS`).
        rounds: passes over the terms. bias_rad: each probe's rms over the panel, radians.
        spacing, count: the input dot grid (input pixels, dots per side; default: as many as
            fit in the central 55 % of the input SLM, at most 8).
        box: side of the camera window around each dot's image, pixels.
        n_frames: frames averaged per probe.
        dc_block_px: radius, Fourier pixels, of the disc about ``centre_px`` shown at 0 and pi
            for each probe (default :func:`dc_block_radius`; 0: no disc, one display a probe).

    Raises:
        CalibrationError: a phase input SLM, an amplitude Fourier SLM, dots off the camera or
            in the dark.
    """
    session.start("aberration")
    bench = session.bench
    sys_ = bench.system
    fslm = bench.fourier_slm
    if fslm.modulation != "phase":
        raise CalibrationError("aberration: needs a phase Fourier SLM (trial wavefronts)")
    bad = [t for t in terms if t not in TERMS]
    if bad:
        raise CalibrationError(f"aberration: unknown term(s) {bad}; allowed: {', '.join(TERMS)}")
    hf, wf = session.fourier_shape
    centre = (float(hf // 2), float(wf // 2)) if centre_px is None else tuple(centre_px)
    radius = default_radius_px((hf, wf))
    y, x = pixel_coordinates((hf, wf), centre, radius)
    zern = np.stack([term(t, y, x) * np.ones((hf, wf)) for t in terms])  # (K, H_F, W_F)
    weight = _pupil_weight(sys_, y * radius, x * radius)
    modes, to_zernike = _orthonormal_modes(zern, weight)
    basis = bias_rad * modes  # each probe: bias_rad rms over the lit panel

    # the first order lands a third / half of the dot spacing from the zero order
    affine = sys_.imaging_affine() if registration is None else np.asarray(registration)
    if count is None:
        count = max(1, min(8, 1 + int(0.55 * min(session.input_shape) // spacing)))
    levels, dots = _dots(session, spacing, count, inverse_amplitude)
    step_cam = spacing * float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    per_cycle = sys_.wavelength * sys_.f2 / (sys_.fourier_pitch * sys_.camera_pitch)
    shift = np.array([step_cam / 3, step_cam / 2])
    period = per_cycle / shift  # Fourier pixels per grating cycle, (rows, cols)
    if period.min() < 3:
        raise CalibrationError(
            f"aberration: the grating needs a period of {period.min():.1f} Fourier pixels (< 3): "
            "use a larger dot spacing"
        )
    rr = np.arange(hf, dtype=np.float64)[:, None]
    cc = np.arange(wf, dtype=np.float64)[None, :]
    grating = 2 * np.pi * (rr / period[0] + cc / period[1])
    n_levels = fslm.levels
    scale = None if panel is None else panel_map(panel, (hf, wf))
    block_r = dc_block_radius(sys_, session.input_shape) if dc_block_px is None else dc_block_px
    disc = (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= block_r**2  # (H_F, W_F)
    flips = (0.0, np.pi) if disc.any() else (0.0,)
    per_flip = max(1, n_frames // len(flips))

    def pattern(phase: np.ndarray, flip: float = 0.0) -> np.ndarray:
        return phase_levels(phase + flip * disc, inverse_phase, n_levels, scale)

    def take(phase: np.ndarray) -> np.ndarray:
        """The mean frame over the disc's two phases (DN, camera shape)."""
        frames = []
        for flip in flips:
            session.display(None, pattern(phase, flip))
            frames.append(session.capture(per_flip))
        return np.mean(frames, axis=0)

    session.display(levels, pattern(grating))
    session.auto_expose(target=0.5, percentile=99.99)
    dark = session.dark_frame(4)
    frame = session.capture(n_frames) - dark
    expected = (affine @ np.column_stack([dots, np.ones(len(dots))]).T).T + shift
    sigma = max(1.5, 0.8 * step_cam / spacing)
    found = []
    for ey, ex in expected:  # count^2 dots: a few boxes each
        y0, x0 = int(round(ey)), int(round(ex))
        near = frame[max(y0 - 5, 0) : y0 + 6, max(x0 - 5, 0) : x0 + 6]
        if near.size == 0 or near.max() <= 0:
            raise CalibrationError(
                f"aberration: the first-order image of an input dot near camera pixel "
                f"({ey:.0f}, {ex:.0f}) is off the camera or dark: check the registration"
            )
        pr, pc = np.unravel_index(np.argmax(near), near.shape)
        found.append(spot_centre(frame, (max(y0 - 5, 0) + pr, max(x0 - 5, 0) + pc), sigma))
    spots = np.array(found)
    corner = np.round(spots).astype(np.int64) - box // 2
    if corner.min() < 0 or (corner + box > np.array(session.camera_shape)).any():
        raise CalibrationError(
            "aberration: a dot's first-order image is within "
            f"{box // 2} pixels of the camera's edge: centre the camera on the input's image"
        )
    idx_r = corner[:, 0, None] + np.arange(box)  # (n, box)
    idx_c = corner[:, 1, None] + np.arange(box)

    def sharpness(coefficients: np.ndarray) -> float:
        image = take(grating + np.tensordot(coefficients, basis, axes=1)) - dark
        boxes = image[idx_r[:, :, None], idx_c[:, None, :]].reshape(len(spots), -1)
        total = boxes.sum(axis=1)
        if not total.min() > 0:
            raise CalibrationError("aberration: no light in a dot's first-order image")
        return float(np.mean((boxes**2).sum(axis=1) / total**2))

    coef = np.zeros(len(terms))
    history = []
    eye = np.eye(len(terms))
    for _ in range(rounds):
        l0 = np.log(sharpness(coef))  # then each term's vertex value carries to the next
        for k in range(len(terms)):
            sm, sp = sharpness(coef - eye[k]), sharpness(coef + eye[k])
            lm, lp = np.log(sm), np.log(sp)
            curvature = lm + lp - 2 * l0
            move = 0.5 * (lm - lp) / curvature if curvature < 0 else np.sign(lp - lm)
            move = float(np.clip(move, -1.5, 1.5))
            history.append([k, sm, np.exp(l0), sp, move])
            coef[k] += move
            # log S at the new point, on the parabola through the three probes
            l0 = l0 + 0.5 * (lp - lm) * move + 0.5 * curvature * move**2
    final = sharpness(coef)
    return AberrationResult(
        terms=tuple(terms),
        coefficients=-(to_zernike @ coef) * bias_rad,
        centre_px=(float(centre[0]), float(centre[1])),
        radius_px=float(radius),
        raw={
            "probes": np.array(history),  # (mode index, S(-b), S(0), S(+b), move in biases)
            "modes_to_zernike": to_zernike * bias_rad,
            "spots_px": spots,
            "grating_period_px": period,
            "dc_disc_px": np.array([block_r]),
            "sharpness_flat": np.array([history[0][2]]),
            "sharpness_corrected": np.array([final]),
        },
    )
