"""A phase-only input SLM made visible on the camera: Zernike phase contrast with the Fourier
SLM, and the input SLM's gray level -> phase measured through it.

Zernike's filter shifts the zero order (a disc of ``radius`` Fourier pixels about the axis,
where the beam's slowly varying field focuses) by ``theta``. An input field ``b e^{i phi(x)}``
then images as ``b e^{i phi} + (e^{i theta} - 1) L``, with ``L`` the field's low-pass part
(~ ``b`` for a sparse pattern on a zero background). For ``theta = pi/2`` and a small phase the
intensity is ``|b|^2 |1 + i phi|^2 ... ~ |b|^2 (1 + 2 phi)``: phase becomes intensity, and a
dot grid of phase dots shows as bright dots (registration).

The input LUT: four filter phases ``theta = 0, pi/2, pi, 3 pi/2`` (phase-shifting
interferometry with the zero order as the reference). Over windows at the dots' images, for
dots at level g, ``z(g) = (P_0 - P_pi) + i (P_pi/2 - P_3pi/2) = 4 (e^{i phi(g)} - beta) beta``
(``beta``: the zero order's share, real, up to the windows' constant offsets), so the points
``z(g)`` lie on a circle whose angle about its centre is ``phi(g)`` up to a constant: a circle
fit gives the curve without a model of it, unambiguous across pi and 2 pi. The dots' own share
of the zero order (their fill factor ``f``, 1 % here) bends the circle by about ``4 f`` rad at
most; the dots are kept sparse for it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from calibration.errors import CalibrationError
from calibration.lut import SLMResponse, quadrature_phase, sampled_phase_response
from calibration.panel import dots_panel
from calibration.patterns import (  # noqa: F401  (re-exported: the filter and its dots)
    DOT_PHASE,
    ZERNIKE_RADIUS,
    check_dot_grid,
    dot_grid,
    phase_dot_level,
    zernike_filter,
)
from calibration.session import Session

#: the four filter phases of the LUT's phase shifting
SHIFTS = (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi)


def visible_dots(
    session: Session,
    spacing: int,
    dot: int,
    margin: int,
    inverse_input: np.ndarray | None = None,
    inverse_phase: np.ndarray | None = None,
    base: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A dot grid a phase-only input SLM shows on the camera: phase dots and the Zernike filter.

    Returns:
        dot levels (H_in, W_in), their centres (n, 2), the background levels (every input
        pixel at level 0: its image, subtracted, leaves the dots) and the Fourier levels.
    """
    slm = session.bench.input_slm
    level = phase_dot_level(slm.levels, inverse_input)
    dots, centres = dot_grid(session.input_shape, spacing, dot, margin, level)
    fourier = zernike_filter(
        session.fourier_shape, 0.5 * np.pi, session.bench.fourier_slm.levels, inverse_phase,
        base=base,
    )  # fmt: skip
    return dots, centres, np.zeros_like(dots), fourier


def fit_circle(z: np.ndarray) -> tuple[complex, float]:
    """Least-squares (algebraic, Kasa) circle through complex points: centre and radius."""
    x, y = z.real, z.imag
    a = np.column_stack([x, y, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(a, x**2 + y**2, rcond=None)
    cx, cy = coef[0] / 2, coef[1] / 2
    return complex(cx, cy), float(np.sqrt(coef[2] + cx**2 + cy**2))


def circle_phase(z: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """The angle of each point about the fitted circle's centre, unwrapped along the series,
    relative to its first point and increasing overall (radians), and the fit."""
    centre, radius = fit_circle(z)
    if not radius > 0:
        raise CalibrationError("lut: the input SLM's phase does not change with its level")
    t = np.unwrap(np.angle(z - centre))
    t = t - t[0]
    if t[-1] < 0:
        t = -t
    resid = float(np.sqrt(np.mean((np.abs(z - centre) - radius) ** 2)) / radius)
    return t, {"circle_radius": radius, "circle_residual": resid}


def input_phase_lut(
    session: Session,
    step: int = 8,
    inverse_phase: np.ndarray | None = None,
    spacing: int | None = None,
    dot: int | None = None,
    n_frames: int = 1,
) -> SLMResponse:
    """Gray level -> phase of a phase-only input SLM by phase shifting on its zero order.

    ``spacing``, ``dot``: the dot grid's over the whole panel (default: ``min(H, W) / 4`` up
    to 48 px, dots a sixth of it, at least 3 px: large dots, so that the fringing at their
    edges, which mixes phases, weighs little). Each dot's image gives its own curve (the
    panel's response varies across it, :mod:`fouroptics.optics.panel`); the curve is their
    mean, every dot weighing the same whatever the beam's intensity there (the panel's mean
    response), and ``raw["dot_scale"]`` each dot's range over the mean's; those scales at the
    dots' positions give the panel map (``panel``: ``m(y, x) curve(l)``,
    :func:`calibration.panel.dots_panel`; None with fewer than six dots). Frames:
    ``4 L / step`` plus exposure, dark and window frames.

    Raises:
        CalibrationError: the grid does not fit the SLM, or no dots show on the camera.
    """
    session.start("lut.input_slm")
    slm = session.bench.input_slm
    if slm.modulation != "phase":
        raise CalibrationError("lut: the input SLM is not phase-only: use amplitude_lut")
    h, w = session.input_shape
    spacing = spacing or max(8, min(48, min(h, w) // 4))
    dot = dot or max(3, spacing // 6)
    check_dot_grid(session, spacing, dot, "lut")
    level = phase_dot_level(slm.levels)
    dots, centres = dot_grid((h, w), spacing, dot, max(0, (spacing - dot) // 2), level)
    flat = np.zeros_like(dots)
    fourier = zernike_filter(session.fourier_shape, 0.5 * np.pi, session.bench.fourier_slm.levels,
                             inverse_phase)  # fmt: skip
    session.display(dots, fourier)
    session.auto_expose(target=0.3, percentile=99.99)
    shown = session.capture(2)
    session.display(flat, None)
    diff = ndimage.gaussian_filter(shown - session.capture(2), 1.0)
    if diff.max() <= 0:
        raise CalibrationError("lut: the input SLM's phase dots do not show through the filter")
    win, n_win = ndimage.label(ndimage.binary_dilation(diff > 0.1 * diff.max(), iterations=2))
    if n_win < 1:
        raise CalibrationError("lut: the input SLM's phase dots do not show through the filter")
    index = np.arange(1, n_win + 1)
    n_levels = slm.levels
    measured = np.unique(np.r_[np.arange(0, n_levels, step), n_levels - 1])
    mask = dots > 0
    power = np.empty((len(SHIFTS), len(measured), n_win))
    pattern = np.zeros(session.input_shape, np.int64)
    for i, theta in enumerate(SHIFTS):
        filt = zernike_filter(session.fourier_shape, theta, session.bench.fourier_slm.levels,
                              inverse_phase)  # fmt: skip
        session.display(None, filt)
        for j, g in enumerate(measured):
            pattern[mask] = g
            session.display(pattern, None)
            power[i, j] = ndimage.sum(session.capture(n_frames), win, index)
    # per dot, two sinusoids in phi(g) whatever the filter's true phases: the quadrature
    # method's ellipse (the Fourier LUT, if not yet measured, only skews it)
    curves, fits, used = [], [], []
    for k in range(n_win):
        try:
            got, params = quadrature_phase(power[2, :, k] - power[0, :, k],
                                           power[3, :, k] - power[1, :, k])  # fmt: skip
        except CalibrationError:
            continue  # no modulation in this window
        curves.append(got)
        fits.append(params)
        used.append(k)
    if not curves:
        raise CalibrationError("lut: the input SLM's phase does not change with its level")
    curves_a = np.array(curves)
    phase = curves_a.mean(axis=0)
    scale = curves_a[:, -1] / phase[-1]
    params = {"dots_used": float(len(curves)), "dot_scale_rms": float(np.std(scale))}
    # where each dot sits on the input SLM (its image's centre through the nominal imaging,
    # a few pixels off at most: the map is smooth) and the panel map through the dots' scales
    at = np.array(ndimage.center_of_mass(diff, win, index))[used]
    m0 = session.bench.system.imaging_affine()
    points = np.linalg.solve(m0[:, :2], (at - m0[:, 2]).T).T
    modulation = np.ptp(power[0][:, used], axis=0)
    panel = dots_panel(points, (h, w), scale, modulation)
    response = sampled_phase_response(
        "input_slm",
        measured,
        phase,
        n_levels,
        {
            "levels": measured,
            "power_by_shift": power,
            "phase_measured": phase,
            "dot_spacing": np.array([spacing]),
            "dot_scale": scale,
            "dot_points": points,
            **{k: np.array([v]) for k, v in params.items()},
        },
    )
    response.panel = panel
    return response
