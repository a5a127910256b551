"""The LUT by region of the panel: how an SLM's response varies across it (cell-gap
non-uniformity), measured through the bench and fitted with a smooth map
(:mod:`fouroptics.optics.panel`: ``m(y, x)`` with ``m * curve(l)`` on a phase SLM,
``curve(l) ** m`` on an amplitude SLM).

Fourier SLM (phase): a grid of single-pixel dots on the input SLM lights the whole Fourier
plane (one pixel's spectrum falls to 0.4 of its peak at the panel's edge, where the global
routine's 4-pixel dots leave the edge regions a hundredth of the centre's modulation); the SLM
shows level 0 except one region of a ``grid x grid`` split, which shows level g. The light in
the dot images' windows is linear in the region's field, so
``P(g) = a + b cos(s curve(g)) + c sin(s curve(g))``: with the global curve's shape known, a
few levels give the region's scale ``s`` (a fit of four numbers; no quadrature pair needed).
The map is fitted through the regions' scales at their centres.

Input SLM (phase): the phase-contrast routine's dots (:func:`calibration.phase_contrast.
input_phase_lut`) each give their own curve; their ranges over the mean's, at the dots'
positions, are the map (:func:`dots_panel`).

Input SLM (amplitude): after the registration, the camera images the input SLM shown uniformly
at a few levels; at each registered input point the power ratio to the top level is
``A(g)^(2 m)``, so ``m = log(ratio) / log(A(g)^2)`` against the global curve ``A``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, optimize

from calibration.errors import CalibrationError
from calibration.patterns import bright_windows, dot_grid
from calibration.session import Session
from fouroptics.optics.panel import fit_panel, normalised_coords

#: regions per side of the Fourier SLM, levels per region, and the scales searched
REGIONS = 3
REGION_LEVELS = 8
SCALES = (0.8, 1.25)
#: frames averaged per level and region
REGION_FRAMES = 1


def region_scale(curve: np.ndarray, power: np.ndarray) -> tuple[float, float, float]:
    """The scale ``s`` of ``P = a + b cos(s c) + d sin(s c)`` (``curve`` c (n,) radians at the
    measured levels, ``power`` (n,)), the fit's relative rms residual and its modulation
    ``sqrt(b^2 + d^2)``."""
    c = np.asarray(curve, np.float64)
    p = np.asarray(power, np.float64)

    def resid(s: float) -> float:
        a = np.stack([np.ones_like(c), np.cos(s * c), np.sin(s * c)], axis=1)
        coef, *_ = np.linalg.lstsq(a, p, rcond=None)
        return float(np.sum((a @ coef - p) ** 2))

    grid = np.linspace(*SCALES, 91)
    k = int(np.argmin([resid(s) for s in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    s = float(optimize.minimize_scalar(resid, bounds=(lo, hi), method="bounded").x)
    a = np.stack([np.ones_like(c), np.cos(s * c), np.sin(s * c)], axis=1)
    coef, *_ = np.linalg.lstsq(a, p, rcond=None)
    spread = float(np.ptp(p)) or 1.0
    return s, float(np.sqrt(resid(s) / len(p)) / spread), float(np.hypot(coef[1], coef[2]))


def fourier_regions(
    session: Session, curve: np.ndarray, spacing: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The Fourier SLM's scale per region and the fitted map's (6,) coefficients.

    Args:
        session: the bench (its input SLM an amplitude one: the global routine checked).
        curve: (L,) the measured global phase curve, radians relative to level 0.
        spacing: the dot grid's spacing, input pixels (the global routine's).

    Frames: ``REGIONS**2 * REGION_LEVELS`` plus the exposure, dark and window frames.
    """
    hf, wf = session.fourier_shape
    top = session.bench.input_slm.levels - 1
    dots, _ = dot_grid(session.input_shape, spacing, 1, spacing // 2, top)
    session.display(dots, np.zeros((hf, wf), dtype=np.int64))
    session.auto_expose(target=0.3, percentile=99.99)
    dark = session.dark_frame(4)
    windows = bright_windows(session.capture(2) - dark)
    dark_sum = float(dark[windows].sum())
    n = len(curve)
    levels = np.unique(np.rint(np.linspace(0, n - 1, REGION_LEVELS)).astype(np.int64))
    edges_y = np.linspace(0, hf, REGIONS + 1).astype(int)
    edges_x = np.linspace(0, wf, REGIONS + 1).astype(int)
    scale = np.zeros((REGIONS, REGIONS))
    resid = np.zeros((REGIONS, REGIONS))
    rho = np.zeros((REGIONS, REGIONS))
    power = np.zeros((REGIONS, REGIONS, len(levels)))
    pattern = np.zeros((hf, wf), dtype=np.int64)
    for i in range(REGIONS):
        for j in range(REGIONS):
            box = (slice(edges_y[i], edges_y[i + 1]), slice(edges_x[j], edges_x[j + 1]))
            for k, g in enumerate(levels):
                pattern[box] = g
                session.display(None, pattern)
                power[i, j, k] = float(session.capture(REGION_FRAMES)[windows].sum()) - dark_sum
            pattern[box] = 0
            scale[i, j], resid[i, j], rho[i, j] = region_scale(curve[levels], power[i, j])
    # each region weighs by its modulation squared over its residual: the corners, where the
    # dots' envelope leaves little light, count little (and matter little: so does the light)
    weight = rho**2 / np.maximum(resid, 1e-3) ** 2
    if not np.any(resid < 0.2):
        raise CalibrationError(
            "lut: the Fourier SLM's regions do not follow the global curve (fit residual "
            f"{resid.min():.2f} of the signal at best): is the panel lit?"
        )
    centre_y, centre_x = normalised_coords(
        (edges_y[:-1] + edges_y[1:] - 1) / 2, (edges_x[:-1] + edges_x[1:] - 1) / 2, (hf, wf)
    )
    yy, xx = np.meshgrid(centre_y, centre_x, indexing="ij")
    coef = fit_panel(yy, xx, scale, weight)
    raw = {
        "region_modulation": rho,
        "region_levels": levels,
        "region_power": power,
        "region_scale": scale,
        "region_residual": resid,
    }
    return coef, raw


def input_panel(
    session: Session, curve: np.ndarray, registration: np.ndarray, n_levels: int = 6
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The input (amplitude) SLM's gamma map: (6,) coefficients of ``m`` with
    ``A(g; y, x) = curve(g) ** m(y, x)``, and the raw data.

    Args:
        curve: (L,) the measured global amplitude curve (relative to its largest).
        registration: (2, 3) camera (row, col) = M @ (input row, col, 1).

    Frames: ``n_levels + 2`` plus exposure and dark frames.
    """
    session.start("lut.input_panel")
    slm = session.bench.input_slm
    h, w = session.input_shape
    top = slm.levels - 1
    usable = np.nonzero((curve > 0.15) & (curve < 0.8))[0]
    if len(usable) < 2:
        raise CalibrationError("lut: the input SLM's amplitude curve has no mid-range levels")
    levels = usable[np.rint(np.linspace(0, len(usable) - 1, n_levels)).astype(int)]
    levels = np.unique(levels)
    flat_f = np.zeros(session.fourier_shape, dtype=np.int64)
    session.display(np.full((h, w), top, dtype=np.int64), flat_f)
    session.auto_expose(target=0.6, percentile=99.9)
    dark = session.dark_frame(4)
    # registered input points every 8 pixels, away from the border
    rows, cols = np.meshgrid(np.arange(8, h - 7, 8), np.arange(8, w - 7, 8), indexing="ij")
    pts = np.stack([rows.ravel(), cols.ravel(), np.ones(rows.size)])
    at = np.asarray(registration, np.float64) @ pts

    def sample(g: int, n_frames: int) -> np.ndarray:
        session.display(np.full((h, w), g, dtype=np.int64), None)
        frame = ndimage.gaussian_filter(session.capture(n_frames) - dark, 2.0)
        return ndimage.map_coordinates(frame, at, order=1, mode="nearest")

    p_top = sample(top, 2)
    ratio = np.stack([sample(int(g), 1) for g in levels]) / np.maximum(p_top, 1e-12)
    lit = p_top > 0.3 * p_top.max()
    if lit.sum() < 6:
        raise CalibrationError("lut: too little of the input SLM is lit to map its panel")
    log_a2 = np.log(np.maximum(curve[levels], 1e-6) ** 2)[:, None]
    m = np.sum(np.log(np.clip(ratio, 1e-6, None)) * log_a2, axis=0) / np.sum(log_a2**2)
    y, x = normalised_coords(rows.ravel(), cols.ravel(), (h, w))
    coef = fit_panel(y[lit], x[lit], m[lit], p_top[lit])
    raw = {"panel_levels": levels, "panel_points": pts[:2].T, "panel_scale": m, "lit": lit}
    return coef, raw


def dots_panel(
    points: np.ndarray, shape: tuple[int, int], scale: np.ndarray, weight: np.ndarray
) -> np.ndarray | None:
    """A phase SLM's panel map (6,) through dots' scales: ``scale`` (n,) each dot's phase
    range over the panel's mean curve's (its ``m``) at input pixel ``points`` (n, 2) (row,
    col) of a panel of ``shape``, weighted by ``weight`` (n,) >= 0 (the dot's modulation: a dot
    in the beam's tail counts little); None with fewer than six dots (the map's terms)."""
    if len(scale) < 6:
        return None
    pts = np.asarray(points, np.float64)
    y, x = normalised_coords(pts[:, 0], pts[:, 1], shape)
    return fit_panel(y, x, scale, np.maximum(np.asarray(weight, np.float64), 0.0))


def panel_error(
    curve: np.ndarray,
    coefficients: np.ndarray | None,
    true_curve: np.ndarray,
    true_panel: np.ndarray | None,
    modulation: str,
    every: int = 8,
) -> float:
    """RMS error of a measured response by region against another (the truth, for reports):
    over every ``every``-th pixel and level. Phase: the wrapped difference of
    ``m curve(l)`` and ``true_panel true_curve(l)`` (both relative to level 0, one common
    offset removed), radians; amplitude: of ``curve ** m`` and ``true_curve ** true_panel``
    (relative to the largest). ``coefficients`` None: the measured response taken uniform."""
    from fouroptics.optics.panel import panel_map

    curve = np.asarray(curve, np.float64)
    truth = np.asarray(true_curve, np.float64)
    shape = (1, 1) if true_panel is None else np.shape(true_panel)
    m = np.ones(shape) if coefficients is None else panel_map(coefficients, shape)
    t = np.ones(shape) if true_panel is None else np.asarray(true_panel, np.float64)
    m, t = m[::every, ::every][None], t[::every, ::every][None]
    lv = np.arange(0, len(curve), every)
    if modulation == "phase":
        d = (curve[lv] - curve[0])[:, None, None] * m - (truth[lv] - truth[0])[:, None, None] * t
        d = np.angle(np.exp(1j * (d - np.angle(np.mean(np.exp(1j * d))))))
    else:
        d = (curve[lv] / curve.max())[:, None, None] ** m - (truth[lv] / truth.max())[
            :, None, None
        ] ** t
    return float(np.sqrt(np.mean(d**2)))
