"""Registration: input-SLM pixel -> camera pixel (affine) from a displayed dot grid, and the
beam profile on the input SLM.

Each dot's image is located by an iterated Gaussian-weighted centroid (the fixed point is the
centre of any symmetric spot, with no bias from the window's pixel edges); the affine
``camera (row, col) = M @ (input row, col, 1)`` is the least-squares fit over the dots, and its
residuals are reported. The beam profile is a fully-on frame sampled at the registered image of
every input pixel (relative intensity; the compiler divides its square root out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from calibration.errors import CalibrationError
from calibration.patterns import check_dot_grid, dot_grid, phase_dot_level, zernike_filter
from calibration.session import Session
from fouroptics.optics.beam import gaussian_amplitude


def spot_centre(
    image: np.ndarray, guess: tuple[float, float], sigma: float = 2.0, iterations: int = 20
) -> tuple[float, float]:
    """Centre (row, col) of a spot near ``guess`` by the iterated Gaussian-weighted centroid
    (weights ``exp(-r^2 / (2 sigma^2))`` about the current estimate, window 4 sigma)."""
    y, x = float(guess[0]), float(guess[1])
    half = int(np.ceil(4 * sigma))
    h, w = image.shape
    for _ in range(iterations):
        r0, c0 = int(round(y)), int(round(x))
        if not (half <= r0 < h - half and half <= c0 < w - half):
            raise CalibrationError(
                f"registration: a dot's image at ({y:.1f}, {x:.1f}) is at the camera's edge: "
                "centre the camera on the input SLM's image"
            )
        patch = image[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
        yy, xx = np.mgrid[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1]
        wgt = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2)) * patch
        total = wgt.sum()
        if total <= 0:
            raise CalibrationError("registration: a dot's image has no light above the dark")
        dy = 2 * ((yy - y) * wgt).sum() / total
        dx = 2 * ((xx - x) * wgt).sum() / total
        y, x = y + dy, x + dx
        if abs(dy) < 1e-5 and abs(dx) < 1e-5:
            break
    return y, x


def fit_affine(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (2, 3) affine with ``dst = M @ (src, 1)``; and the residuals (n, 2)."""
    a = np.column_stack([src, np.ones(len(src))])
    m, *_ = np.linalg.lstsq(a, dst, rcond=None)
    m = m.T
    return m, dst - a @ m.T


@dataclass
class Registration:
    """Input-SLM pixel -> camera pixel affine, residuals and the beam profile."""

    affine: np.ndarray  # (2, 3)
    residual_px: float  # rms over the dots, camera pixels
    beam_profile: np.ndarray  # (H_in, W_in) relative intensity (max 1)
    beam_centre_px: tuple[float, float]  # input pixels (row, col), Gaussian fit
    beam_waist_px: float  # 1/e^2 intensity radius, input pixels (inf: flat)
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {
            "affine": np.asarray(self.affine, np.float64),
            "residual_px": float(self.residual_px),
            "beam_profile": self.beam_profile.astype(np.float32),
            "beam_centre_px": [float(v) for v in self.beam_centre_px],
            "beam_waist_px": float(self.beam_waist_px),
            "raw": dict(self.raw),
        }


def fit_gaussian_beam(profile: np.ndarray, border: int = 4) -> tuple[tuple[float, float], float]:
    """Centre (row, col) and 1/e^2 radius (pixels) of a round Gaussian beam from its relative
    intensity (H, W): a least-squares quadratic fit to ``ln I`` where I > 0.2, away from the
    SLM's border (a beam wider than the SLM is truncated: a centroid would be biased)."""
    h, w = profile.shape
    rr, cc = np.mgrid[:h, :w].astype(np.float64)
    use = profile > 0.2
    use[:border] = use[-border:] = False
    use[:, :border] = use[:, -border:] = False
    if use.sum() < 10:
        raise CalibrationError("registration: too little light to fit the beam profile")
    r, c = rr[use], cc[use]
    a = np.column_stack([np.ones_like(r), r, c, r**2 + c**2])
    coef, *_ = np.linalg.lstsq(a, np.log(profile[use]), rcond=None)
    if coef[3] >= 0:  # flat (or rising) illumination: no waist to speak of
        return (float(np.mean(r)), float(np.mean(c))), float("inf")
    centre = (float(-coef[1] / (2 * coef[3])), float(-coef[2] / (2 * coef[3])))
    return centre, float(np.sqrt(-2.0 / coef[3]))


def beam_weighted_centres(
    centres: np.ndarray, size: int, beam_centre: tuple[float, float], waist: float
) -> np.ndarray:
    """Where the images of square dots really centre on a Gaussian beam: each dot's pixels
    weighted by the beam's intensity (:func:`~fouroptics.optics.beam.gaussian_amplitude`
    squared; an unweighted centre is off by about
    ``(size^2 / 12) * 4 x / w^2`` pixels at ``x`` from the beam's centre: 0.02 px on the
    misaligned bench, the registration's former floor).

    Args:
        centres: (n, 2) unweighted dot centres (row, col), input pixels.
        size: dot side, pixels.
        beam_centre: (row, col) input pixels. waist: 1/e^2 intensity radius, pixels.

    Returns:
        (n, 2) weighted centres.
    """
    k = np.arange(size) - (size - 1) / 2  # pixel offsets within a dot
    out = np.empty_like(centres, dtype=np.float64)
    for axis in (0, 1):
        x = centres[:, axis : axis + 1] + k[None, :]  # (n, size)
        wgt = gaussian_amplitude(x, beam_centre[axis], waist) ** 2  # intensity
        out[:, axis] = (x * wgt).sum(axis=1) / wgt.sum(axis=1)
    return out


def register(
    session: Session,
    spacing: int = 24,
    dot: int = 4,
    n_frames: int = 4,
    fourier_levels: np.ndarray | None = None,
    name: str = "registration",
    inverse_phase: np.ndarray | None = None,
    inverse_input: np.ndarray | None = None,
) -> Registration:
    """Measure the input-SLM -> camera affine and the beam profile.

    Frames: two dot grids (offset by half a spacing) and one fully-on frame, ``n_frames``
    each, plus exposure and dark frames. ``fourier_levels``: what the Fourier SLM shows
    meanwhile (default level 0 everywhere; the conjugate of a measured aberration, so that the
    dots' images are not displaced by its coma); ``name``: the routine's frame count.

    A phase-only input SLM shows phase dots (``inverse_input``: its measured inverse LUT)
    through a Zernike filter on the Fourier SLM (:mod:`calibration.phase_contrast`; through
    ``inverse_phase``, the Fourier SLM's inverse LUT), less the filter's image of a flat phase
    (one more frame per grid); its beam profile is the flat phase's image without the filter.
    """
    session.start(name)
    slm = session.bench.input_slm
    h, w = session.input_shape
    check_dot_grid(session, spacing, dot, "registration")
    flat = (
        np.zeros(session.fourier_shape, dtype=np.int64)
        if fourier_levels is None
        else np.asarray(fourier_levels, dtype=np.int64)
    )
    phase_only = slm.modulation == "phase"  # its dots show through a Zernike filter
    contrast = None
    if phase_only:
        n_f = session.bench.fourier_slm.levels
        contrast = zernike_filter(session.fourier_shape, 0.5 * np.pi, n_f, inverse_phase, base=flat)
    guess_map = session.bench.system.imaging_affine()
    sigma = max(1.5, 0.6 * dot * abs(guess_map[0, 0]))
    src, dst = [], []
    top = phase_dot_level(slm.levels, inverse_input) if phase_only else slm.levels - 1
    for offset in (spacing // 2, spacing // 2 + spacing // 2):
        levels, centres = dot_grid((h, w), spacing, dot, offset, top)
        session.display(levels, flat if contrast is None else contrast)
        if not src:
            session.auto_expose(target=0.6, percentile=99.99)
        image = session.capture(n_frames)
        if phase_only:  # the filter's image of the flat phase: the dots alone remain
            session.display(np.zeros_like(levels), None)
            image = image - session.capture(n_frames)
        else:
            image = image - session.dark_frame(4)
        image = np.maximum(image, 0.0)
        smooth = ndimage.gaussian_filter(image, 1.0)
        level = smooth.max()
        for rc in centres:
            g = guess_map @ np.r_[rc, 1.0]
            r0, c0 = int(round(g[0])), int(round(g[1]))
            if not (8 <= r0 < image.shape[0] - 8 and 8 <= c0 < image.shape[1] - 8):
                continue
            box = smooth[r0 - 6 : r0 + 7, c0 - 6 : c0 + 7]
            if box.max() < 0.1 * level:
                continue  # the beam's edge: too little light for a good centre
            pr, pc = np.unravel_index(np.argmax(box), box.shape)
            src.append(rc)
            dst.append(spot_centre(image, (r0 - 6 + pr, c0 - 6 + pc), sigma))
    if len(src) < 6:
        raise CalibrationError(
            f"registration: only {len(src)} dots found on the camera (need >= 6): check the "
            "light, the exposure and that the camera sees the input SLM's image"
        )
    src_a, dst_a = np.array(src), np.array(dst)
    affine, res = fit_affine(src_a, dst_a)

    # beam profile: fully on, sampled at the registered image of every input pixel
    session.display(np.full((h, w), slm.levels - 1), flat)
    session.auto_expose(target=0.6, percentile=99.9)
    full = np.maximum(session.capture(n_frames) - session.dark_frame(4), 0.0)
    flat_dn_per_s = float(full.mean() / session.bench.camera.exposure)  # the laser, for a check
    rr, cc = np.mgrid[:h, :w].astype(np.float64)

    def beam_fit(m: np.ndarray) -> tuple[np.ndarray, tuple[float, float], float]:
        coords = np.einsum("ij,jhw->ihw", m, np.stack([rr, cc, np.ones_like(rr)]))
        prof = ndimage.map_coordinates(full, coords, order=1, mode="constant")
        prof = prof / max(prof.max(), 1e-30)
        return (prof, *fit_gaussian_beam(prof))

    profile, centre, waist = beam_fit(affine)
    if np.isfinite(waist):  # a dot's image is its pixels weighted by the beam: refit once
        src_a = beam_weighted_centres(src_a, dot, centre, waist)
        affine, res = fit_affine(src_a, dst_a)
        profile, centre, waist = beam_fit(affine)
    rms = float(np.sqrt(np.mean(np.sum(res**2, axis=1))))
    return Registration(
        affine=affine,
        residual_px=rms,
        beam_profile=profile,
        beam_centre_px=centre,
        beam_waist_px=waist,
        raw={
            "dots_input_px": src_a,
            "dots_camera_px": dst_a,
            "residuals_px": res,
            "flat_dn_per_s": np.float64(flat_dn_per_s),
        },  # fmt: skip
    )
