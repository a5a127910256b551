"""SLM gray level -> phase (or amplitude) response, measured through the bench, and the inverse
lookup table that linearises it.

Phase (Fourier SLM): a small-dot grid on the input SLM spreads light over the whole Fourier
plane. The Fourier SLM shows two halves, the left one at a reference level and the right at
level g. The camera power in windows around the dot images is, for any field, pixel aperture,
gap light or aberration (everything is linear in the two half-plane fields),
``P(g) = alpha + rho cos(phi(g) - phi_ref - theta)``. Two references (level 0 and a level near
a quarter wave, chosen from the first series) give two such series; the points
``(P_0(g), P_q(g))`` lie on an ellipse whose angle is ``phi(g)`` up to a constant (the
quadrature method of interferometry), so the phase needs no model of the curve and is not
ambiguous across pi or 2 pi. Only one column pair sees fringing (the split), not every period
of a grating.

Amplitude (an amplitude SLM, in either plane): the camera power with the SLM uniformly at
level g, dark subtracted, is ``|A(g)|^2`` up to a constant; A is reported relative to its
largest value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize
from scipy.interpolate import PchipInterpolator

from calibration.errors import CalibrationError
from calibration.patterns import bright_windows, dot_grid
from calibration.session import Session


@dataclass
class SLMResponse:
    """A measured response and its inverse.

    Attributes:
        slm: role, "input_slm" or "fourier_slm".
        modulation: "phase" or "amplitude".
        curve: (L,) radians relative to level 0 (phase) or field amplitude relative to the
            largest (amplitude), every gray level.
        inverse: (L,) int gray levels: for phase, the level whose phase is nearest
            ``2 pi k / L`` (mod 2 pi) for k = 0..L-1; for amplitude, nearest ``k / (L - 1)``.
        raw: measured levels and camera powers.
        panel: (6,) coefficients of the map of how the response varies across the panel
            (:mod:`fouroptics.optics.panel`; :mod:`calibration.panel`), or None.
        coupling: (L,) radians an amplitude SLM's levels add to their field, relative to the
            top level (:mod:`calibration.coupling`), or None; ``inverse`` then minimises
            ``|curve e^{i coupling} - k / (L - 1)|``.
    """

    slm: str
    modulation: str
    curve: np.ndarray
    inverse: np.ndarray
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    panel: np.ndarray | None = None
    coupling: np.ndarray | None = None

    def to_payload(self) -> dict[str, Any]:
        out = {
            "modulation": self.modulation,
            "curve": np.asarray(self.curve, np.float64),
            "inverse": np.asarray(self.inverse, np.int32),
            "raw": dict(self.raw),
        }
        if self.panel is not None:
            out["panel"] = np.asarray(self.panel, np.float64)
        if self.coupling is not None:
            out["coupling"] = np.asarray(self.coupling, np.float64)
        return out


def inverse_phase_lut(curve: np.ndarray) -> np.ndarray:
    """(L,) levels whose phase (``curve``, radians) is nearest ``2 pi k / L`` modulo 2 pi."""
    n = len(curve)
    target = 2 * np.pi * np.arange(n) / n
    diff = np.angle(np.exp(1j * (curve[None, :] - target[:, None])))
    return np.argmin(np.abs(diff), axis=1).astype(np.int64)


def sampled_phase_response(
    slm: str, levels: np.ndarray, phase: np.ndarray, n_levels: int, raw: dict[str, Any]
) -> SLMResponse:
    """A phase SLM's response from its phase (radians) measured at some ``levels``: the
    monotone cubic (PCHIP) through them at every one of ``n_levels``, and its inverse."""
    from scipy.interpolate import PchipInterpolator

    curve = PchipInterpolator(levels, phase)(np.arange(n_levels))
    return SLMResponse(
        slm=slm, modulation="phase", curve=curve, inverse=inverse_phase_lut(curve), raw=raw
    )


def inverse_amplitude_lut(curve: np.ndarray, coupling: np.ndarray | None = None) -> np.ndarray:
    """(L,) levels whose amplitude (``curve``) is nearest ``k / (L - 1)``; with a phase
    ``coupling`` (L,) radians, whose field ``curve e^{i coupling}`` is nearest it."""
    n = len(curve)
    target = np.arange(n) / (n - 1)
    field = curve if coupling is None else curve * np.exp(1j * np.asarray(coupling))
    return np.argmin(np.abs(field[None, :] - target[:, None]), axis=1).astype(np.int64)


def quadrature_phase(p0: np.ndarray, pq: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Phase from two series ``p0 = a0 + r0 cos t``, ``pq = a1 + r1 cos(t - b)``.

    Fits the ellipse (a0, r0, a1, r1, b), then ``t = atan2(sin t, cos t)``, unwrapped along
    the series and returned relative to its first point, increasing overall.

    Returns:
        (n,) radians, and the fitted parameters.
    """
    p0, pq = np.asarray(p0, float), np.asarray(pq, float)
    a0, r0 = (p0.max() + p0.min()) / 2, (p0.max() - p0.min()) / 2
    a1, r1 = (pq.max() + pq.min()) / 2, (pq.max() - pq.min()) / 2
    if r0 <= 0 or r1 <= 0:
        raise CalibrationError(
            "SLM phase: the camera power does not change with the gray level: is the Fourier "
            "SLM lit and in the beam path?"
        )
    c, cq = (p0 - a0) / r0, (pq - a1) / r1
    b0 = float(np.arccos(np.clip(2 * np.mean(c * cq), -0.95, 0.95)))

    def unit(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a0_, r0_, a1_, r1_, b_ = params
        c_ = (p0 - a0_) / r0_
        s_ = ((pq - a1_) / r1_ - c_ * np.cos(b_)) / np.sin(b_)
        return c_, s_

    def residual(params: np.ndarray) -> np.ndarray:
        c_, s_ = unit(params)
        return c_**2 + s_**2 - 1.0

    fit = optimize.least_squares(residual, [a0, r0, a1, r1, b0], x_scale="jac")
    c_, s_ = unit(fit.x)
    t = np.unwrap(np.arctan2(s_, c_))
    t = t - t[0]
    if t[-1] < 0:
        t = -t
    keys = ("offset0", "amplitude0", "offset_q", "amplitude_q", "quadrature_rad")
    return t, {k: float(v) for k, v in zip(keys, fit.x, strict=True)}


def _fourier_flat(session: Session) -> np.ndarray:
    return np.zeros(session.fourier_shape, dtype=np.int64)


def _dot_input(session: Session) -> tuple[np.ndarray, int]:
    """A dot grid on the input SLM, and its spacing in input pixels."""
    slm = session.bench.input_slm
    h, w = session.input_shape
    spacing = max(8, min(h, w) // 8)
    if slm.modulation == "phase":  # phase dots (shown through a Zernike filter to find them)
        from calibration.patterns import check_dot_grid, phase_dot_level

        check_dot_grid(session, spacing, 4, "lut")
        return dot_grid((h, w), spacing, 4, spacing // 2, phase_dot_level(slm.levels))[0], spacing
    levels, _ = dot_grid((h, w), spacing, 4, spacing // 2, slm.levels - 1)
    return levels, spacing


def _split_column(session: Session, spacing: int) -> int:
    """A Fourier-SLM column half-way between the columns where the dot grid's spectrum has
    its peaks (period ``lambda f1 / (spacing p_in)``), so that the few pixels next to the
    split (fringing) carry little light."""
    sys_ = session.bench.system
    period = sys_.wavelength * sys_.f1 / (spacing * sys_.input_pitch * sys_.fourier_pitch)
    return session.fourier_shape[1] // 2 + int(round(period / 2))


def fourier_phase_lut(
    session: Session, step: int = 2, n_frames: int = 1, regions: bool = True
) -> SLMResponse:
    """Gray level -> phase of the Fourier SLM by the two-reference split-field method, then
    (``regions``) its variation across the panel (:func:`calibration.panel.fourier_regions`).
    ``curve`` is the response where the dots' light falls, near the panel's centre (their
    spectrum's main lobe), and ``panel`` is relative to it.

    Frames: about ``2 L / step`` (one capture each) plus exposure and dark frames, and
    :data:`calibration.panel.REGIONS` squared times :data:`calibration.panel.REGION_LEVELS`.
    """
    session.start("lut.fourier_slm")
    slm = session.bench.fourier_slm
    if slm.modulation != "phase":
        raise CalibrationError(
            f"lut: the Fourier SLM modulates {slm.modulation}, not phase: use amplitude_lut"
        )
    hf, wf = session.fourier_shape
    n_levels = slm.levels
    dots, spacing = _dot_input(session)
    split = _split_column(session, spacing)
    base = _fourier_flat(session)
    if session.bench.input_slm.modulation == "phase":  # the zero order at a quarter wave (a
        # Zernike filter on the reference side of the split) shows the dots: their windows
        from calibration.patterns import zernike_filter

        base = zernike_filter((hf, wf), 0.5 * np.pi, n_levels)
    session.display(dots, base)
    session.auto_expose(target=0.3, percentile=99.99)
    dark = session.dark_frame(4)
    shown = session.capture(2)
    if session.bench.input_slm.modulation == "phase":
        session.display(np.zeros_like(dots), None)
        win = bright_windows(shown - session.capture(2))
        session.display(dots, None)
    else:
        win = bright_windows(shown - dark)
    dark_sum = float(dark[win].sum())
    measured = np.unique(np.r_[np.arange(0, n_levels, step), n_levels - 1])

    def series(ref: int) -> np.ndarray:
        out = []
        pattern = np.full((hf, wf), ref, dtype=np.int64)
        pattern[base != 0] = base[base != 0]  # a Zernike filter's disc stays (left of split)
        for g in measured:
            pattern[:, split:] = g
            session.display(None, pattern)
            out.append(float(session.capture(n_frames)[win].sum()) - dark_sum)
        return np.array(out)

    p0 = series(0)
    mid = (p0.max() + p0.min()) / 2
    below = np.nonzero(p0 < mid)[0]
    if len(below) == 0:
        raise CalibrationError("lut: the Fourier SLM phase range is below pi: cannot calibrate")
    g_q = int(measured[below[0]])
    pq = series(g_q)
    phase, params = quadrature_phase(p0, pq)
    curve = PchipInterpolator(measured, phase)(np.arange(n_levels))
    panel, panel_raw = None, {}
    # by region: through single-pixel amplitude dots (a phase-only input SLM's dots show only
    # through a Zernike filter, which the regions' patterns would overwrite: not measured)
    if regions and session.bench.input_slm.modulation != "phase":
        from calibration.panel import fourier_regions

        panel, panel_raw = fourier_regions(session, curve, spacing)
    return SLMResponse(
        slm="fourier_slm",
        modulation="phase",
        curve=curve,
        inverse=inverse_phase_lut(curve),
        panel=panel,
        raw={
            **panel_raw,
            "levels": measured,
            "power_ref0": p0,
            "power_refq": pq,
            "reference_q": np.array([g_q]),
            "phase_measured": phase,
            **{k: np.array([v]) for k, v in params.items()},
        },
    )


def amplitude_lut(session: Session, role: str = "input_slm", step: int = 4) -> SLMResponse:
    """Gray level -> field amplitude of an amplitude SLM (``role``), relative to its largest.

    Frames: about ``L / step`` plus exposure and dark frames.
    """
    session.start(f"lut.{role}")
    slm = getattr(session.bench, role)
    if slm.modulation == "phase":
        raise CalibrationError(f"lut: {role} is a phase SLM: use fourier_phase_lut")
    n_levels = slm.levels
    other_in = np.full(session.input_shape, session.bench.input_slm.levels - 1, dtype=np.int64)
    other_f = _fourier_flat(session)
    top = np.full(getattr(session, "input_shape" if role == "input_slm" else "fourier_shape"), 0)

    def show(g: int) -> None:
        top[...] = g
        if role == "input_slm":
            session.display(top, other_f)
        else:
            session.display(other_in, top)

    show(n_levels - 1)
    session.auto_expose(target=0.6, percentile=99.9)
    dark = session.dark_frame(4)
    measured = np.unique(np.r_[np.arange(0, n_levels, step), n_levels - 1])
    power = []
    for g in measured:
        show(int(g))
        power.append(float((session.capture(1) - dark).sum()))
    power = np.maximum(np.array(power), 0.0)
    if power.max() <= 0:
        raise CalibrationError(f"lut: no light on the camera for any level of {role}")
    amp = np.sqrt(power / power.max())
    curve = np.clip(PchipInterpolator(measured, amp)(np.arange(n_levels)), 0.0, None)
    return SLMResponse(
        slm=role,
        modulation="amplitude",
        curve=curve,
        inverse=inverse_amplitude_lut(curve),
        raw={"levels": measured, "power_dn": power},
    )
