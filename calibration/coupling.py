"""The amplitude input SLM's phase coupling, by Young's two slits on the Fourier camera.

An amplitude LCoS (between polarisers) shows ``A(g) exp(i phi_c(g))``. Two square patches on the
input SLM, ``d`` pixels apart along the rows, one at the top level and one at level g (the rest
at level 0, the SLM's dark floor), make fringes on the Fourier-plane camera whose complex
amplitude at their spatial frequency is ``A(top) A(g) exp(i (phi_c(g) - phi_c(top) + beta))``
(``beta``: geometry, the beam, the path's aberrations: the same for every g). The floor's
light is the image of the whole panel: on the Fourier camera a spot at the axis (and the panel
edges' sidelobes along the axes), blocked out before the analysis; but the floor ``d`` pixels
beside the top patch makes fringes of the same frequency, constant in g. So the component is
taken relative to the frame with the second patch at level 0:
``d(g) = (F(g) - F(0)) / (F(top) - F(0))`` with ``F = A e^{i phi_c}`` relative to the top
level, and ``F(g) = F(0) + d(g) (1 - F(0))``, ``F(0)`` the measured floor ``A(0)``. The levels
whose fringes do not stand above the floor's are continued along the line through the three
darkest resolved ones, and the floor's phase is that line's at level 0 (found self-consistently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from calibration.errors import CalibrationError
from calibration.session import Session

#: patch side and spacing (input pixels), and levels measured
PATCH = 16
SPACING = 48
LEVELS = 12


@dataclass
class PhaseCoupling:
    """``curve`` (L,) radians relative to the top level; ``raw`` the measurement."""

    curve: np.ndarray
    raw: dict[str, np.ndarray] = field(default_factory=dict)


def _expose(session: Session, camera: Any, show: np.ndarray) -> None:
    """The Fourier camera's exposure: the 99.5th percentile (the axis spot left to saturate)
    at half the range."""
    session.display(show, np.zeros(session.fourier_shape, dtype=np.int64))
    lo, hi = camera.exposure_limits
    for _ in range(8):
        frame = session.capture_fourier(1)
        level = float(np.percentile(frame, 99.5)) - float(np.median(frame))
        want = 0.35 * camera.max_value
        t = float(np.clip(camera.exposure * want / max(level, 1.0), lo, hi))
        if abs(t / camera.exposure - 1) < 0.1:
            return
        camera.set_exposure(t)


def measure_phase_coupling(
    session: Session, amplitude: np.ndarray, n_frames: int = 1
) -> PhaseCoupling:
    """The input SLM's phase per level (relative to the top level) on the Fourier camera.

    Args:
        amplitude: (L,) the input SLM's measured amplitude per level, relative to the top's
            (the amplitude LUT's curve); its first entry is the floor.

    Frames: ``LEVELS + 1`` captures of ``n_frames`` each, plus exposure and dark frames.

    Raises:
        CalibrationError: no Fourier camera, a phase-only input SLM, or no fringes.
    """
    session.start("lut.phase_coupling")
    bench = session.bench
    camera = getattr(bench, "fourier_camera", None)
    if camera is None:
        raise CalibrationError("phase coupling: needs a Fourier-plane camera (fourier_camera)")
    slm = bench.input_slm
    if slm.modulation == "phase":
        raise CalibrationError("phase coupling: the input SLM is phase-only")
    h, w = session.input_shape
    top = slm.levels - 1
    r0, c1 = h // 2 - PATCH // 2, w // 2 - SPACING // 2 - PATCH // 2
    c2 = c1 + SPACING
    pattern = np.zeros((h, w), dtype=np.int64)
    pattern[r0 : r0 + PATCH, c1 : c1 + PATCH] = top

    def show(g: int) -> np.ndarray:
        pattern[r0 : r0 + PATCH, c2 : c2 + PATCH] = g
        return pattern

    _expose(session, camera, show(top))
    with session.dark():
        dark = session.capture_fourier(4)
    ref = session.capture_fourier(n_frames) - dark
    # block the floor's spot at the axis and its sidelobes along the axes
    yy, xx = np.mgrid[: ref.shape[0], : ref.shape[1]]
    spot = ref >= 0.9 * ref.max()  # the axis: the centre of the brightest (saturated) spot
    py, px = int(round(yy[spot].mean())), int(round(xx[spot].mean()))
    keep = ((yy - py) ** 2 + (xx - px) ** 2 > 12**2) & (np.abs(yy - py) > 2) & (np.abs(xx - px) > 2)
    window = np.outer(np.hanning(ref.shape[0]), np.hanning(ref.shape[1])) * keep
    # the fringes' frequency (cycles per frame, along the columns), near the nominal one
    sys_ = bench.system
    period = sys_.wavelength * sys_.f1 / (SPACING * sys_.input_pitch) / camera.pitch
    nominal = ref.shape[1] / period
    spec = np.abs(np.fft.fft2(ref * window))
    band = np.zeros_like(spec, dtype=bool)
    lo, hi = int(max(2, 0.7 * nominal)), int(np.ceil(1.3 * nominal)) + 1
    band[:3, lo:hi] = True
    band[-2:, lo:hi] = True
    if not band.any():
        raise CalibrationError("phase coupling: the fringes' frequency is off the Fourier camera")
    ky, kx = np.unravel_index(int(np.argmax(np.where(band, spec, 0))), spec.shape)
    ramp = np.exp(-2j * np.pi * (ky * yy / ref.shape[0] + kx * xx / ref.shape[1])) * window

    def component(frame: np.ndarray) -> complex:
        return complex(np.sum(frame * ramp))

    z_ref = component(ref)
    if abs(z_ref) <= 0:
        raise CalibrationError("phase coupling: no fringes on the Fourier camera")
    levels = np.unique(np.rint(np.linspace(0, top, LEVELS)).astype(np.int64))
    z = []
    for g in levels:
        session.display(show(int(g)), None)
        # the camera sees the fringes' conjugate: exp(+i 2 pi u x / (lambda f)) convention
        z.append(np.conj(component(session.capture_fourier(n_frames) - dark)))
    z = np.array(z)
    d = (z - z[0]) / (z[-1] - z[0])
    floor = float(np.asarray(amplitude)[0] / np.max(amplitude))
    above = np.nonzero(np.abs(d) > 3 * floor)[0]
    if len(above) < 3:
        raise CalibrationError("phase coupling: the fringes do not change with the level")
    # the phase of each level relative to the top, unwrapped down from it; below the floor's
    # threefold it is not resolved: continued along the line through the three darkest
    # resolved levels (a smooth curve; those levels carry a tenth of the top's field or less).
    # The floor's own phase is that line's at level 0: a few rounds find it self-consistent
    psi = float(np.angle(d[above[0]]))
    k = above[:3]
    for _ in range(6):
        rel = floor * np.exp(1j * psi) * (1 - d) + d
        phase = np.unwrap(np.angle(rel)[::-1])[::-1]
        phase -= phase[-1]
        slope, offset = np.polyfit(levels[k], phase[k], 1)
        phase[: above[0]] = offset + slope * levels[: above[0]]
        psi = float(phase[0])
    curve = PchipInterpolator(levels, phase)(np.arange(slm.levels))
    raw = {
        "levels": levels,
        "resolved_from_level": np.array([levels[above[0]]]),
        "relative_field": rel,
        "fringe_bin": np.array([ky, kx]),
        "axis_px": np.array([py, px]),
    }
    return PhaseCoupling(curve=curve, raw=raw)


def coupling_error(coupling: np.ndarray | None, amplitude: np.ndarray, true: np.ndarray) -> float:
    """Amplitude-weighted rms (rad) of a measured phase coupling (L,) (None: none) against
    another (the truth, for reports), both relative to the top level: ``sqrt(sum A^2 e^2 /
    sum A^2)`` with ``A`` the (true) amplitude per level, so the field error it leaves."""
    a2 = np.asarray(amplitude, np.float64) ** 2
    t = np.asarray(true, np.float64) - float(true[-1])
    c = np.zeros_like(t) if coupling is None else np.asarray(coupling, np.float64)
    e = np.angle(np.exp(1j * (c - c[-1] - t)))
    return float(np.sqrt(np.sum(a2 * e**2) / np.sum(a2)))
