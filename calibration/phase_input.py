"""The Fourier SLM's gray level -> phase on a bench whose input SLM is phase-only: two-beam
interference of a grating's +-1 orders.

The input SLM shows a sinusoidal phase grating (depth :data:`DEPTH`, through the nominal
LUT) of period ``P`` input pixels along its columns; its +-1 orders focus on the Fourier
SLM ``g = lambda f1 / (P p_in p_F)`` pixels either side of the axis. The Fourier SLM shows
level ``l`` in a box about the +1 order, level 0 in a box about the -1 order, and everywhere
else the double-phase of zero (a checkerboard of two levels half a wave apart: the zero
order and the higher orders go ``lambda f2 / (2 p_F)`` off the axis, mostly off the image).
On the camera the two orders interfere into fringes of period ``P / 2`` input pixels whose
phase is
``phi(l) - phi(0)`` plus a constant: the frame's 2-D DFT at the fringes' bin (found on the
level-0 frame) is ``Z(l) = B exp(i (phi(l) + c)) + C``: a circle over the levels, whose
centre ``C`` holds every term that does not go through the +1 box (the gap light between
the box's pixels; the zero and +-2 orders the checkerboard lets through where the Fourier
SLM's crosstalk blurs it), and the angle about the fitted centre
(:func:`calibration.phase_contrast.circle_phase`), unwrapped over the levels, is the
response. No dark frame enters (a dark offset has no
power at the fringes' frequency); the grating's exact depth only sets how much light the
zero order takes. Both orders sit near the panel's centre (``g`` pixels), where the run's
masks put most of their light.
"""

from __future__ import annotations

import numpy as np

from calibration.errors import CalibrationError
from calibration.lut import SLMResponse, sampled_phase_response
from calibration.patterns import cycle_levels
from calibration.phase_contrast import circle_phase
from calibration.session import Session

#: the input grating's period, input pixels (its orders ``g`` Fourier pixels off the axis)
GRATING_PERIOD = 32
#: fringe contrast (|Z(l)| over |Z(0)|) below which a level's phase is not trusted
MIN_CONTRAST = 0.3
#: the input grating's phase depth (radians): its +-1 orders J1 = 0.50 of the field, the
#: zero order 0.67, +-2 0.16, +-3 0.03
DEPTH = 1.2


def _fourier_pattern(session: Session, g: float, level: int, pair: tuple[int, int]) -> np.ndarray:
    """The Fourier SLM's levels: the double-phase of zero everywhere (``pair``: two levels
    half a wave apart), a box at ``level`` about the +1 order and one at level 0 about the
    -1 order (half-width ``g / 2`` pixels)."""
    hf, wf = session.fourier_shape
    r, c = np.indices((hf, wf))
    out = np.where((r + c) % 2 == 0, pair[0], pair[1]).astype(np.int64)
    half = max(1, int(g // 2))
    cy, cx = hf // 2, wf // 2
    for sign, lv in ((1, level), (-1, 0)):
        x0 = int(round(cx + sign * g))
        out[cy - half : cy + half + 1, x0 - half : x0 + half + 1] = lv
    return out


def fourier_phase_lut_fringes(
    session: Session, step: int = 8, period: int = GRATING_PERIOD, n_frames: int = 1
) -> SLMResponse:
    """Gray level -> phase of the Fourier SLM through a phase-only input SLM (see the module).

    Args:
        session: the calibration session (display, capture, exposure only).
        step: gray-level step of the measured levels (the top level is always measured).
        period: the input grating's period, input pixels.
        n_frames: frames averaged per level.

    Frames: ``L / step + 1`` captures plus exposure. Returns the response (``curve`` relative
    to level 0, radians) with its inverse.

    Raises:
        CalibrationError: the grating's orders miss the Fourier SLM, the fringes do not show,
            or a level's fringes lose their contrast (the phase range is then not measured).
    """
    session.start("lut.fourier_slm")
    bench = session.bench
    sys_ = bench.system
    fslm, islm = bench.fourier_slm, bench.input_slm
    h, w = session.input_shape
    g = sys_.wavelength * sys_.f1 / (period * sys_.input_pitch * sys_.fourier_pitch)
    hf, wf = session.fourier_shape
    if g + g / 2 + 2 >= wf / 2 or period > w // 4:
        raise CalibrationError(
            f"lut: a {period}-px input grating's orders ({g:.0f} Fourier px off the axis) do "
            f"not fit the Fourier SLM ({hf}x{wf}) or the input SLM ({h}x{w}): needs a larger "
            "panel"
        )
    col = np.arange(w)
    ph = DEPTH * np.sin(2 * np.pi * col / period)[None, :] * np.ones((h, 1))
    inp = cycle_levels(ph / (2 * np.pi), None, islm.levels)  # the nominal input LUT
    pair = (int(cycle_levels(np.array([0.25]), None, fslm.levels)[0]),
            int(cycle_levels(np.array([0.75]), None, fslm.levels)[0]))  # fmt: skip
    session.display(inp, _fourier_pattern(session, g, 0, pair))
    session.auto_expose(target=0.5, percentile=99.9)
    ref = session.capture(2).astype(np.float64)
    spec = np.fft.fft2(ref - ref.mean())
    # the fringes: period P / 2 input pixels along the columns' axis, on the camera
    mag = sys_.input_pitch / sys_.camera_pitch * sys_.f2 / sys_.f1
    ch, cw = session.camera_shape
    k_expect = 2.0 / period / mag * cw  # DFT bin along the camera's columns
    kx = np.arange(cw)
    near = np.abs(kx - k_expect) <= max(3, 0.2 * k_expect)
    rows = np.r_[0:3, ch - 2 : ch]
    sub = np.abs(spec[np.ix_(rows, np.nonzero(near)[0])])
    i, j = np.unravel_index(np.argmax(sub), sub.shape)
    ky, kxb = rows[i], np.nonzero(near)[0][j]
    z0 = spec[ky, kxb]
    noise = np.median(np.abs(spec[ky, ~near]))
    if abs(z0) < 10 * noise:
        raise CalibrationError(
            "lut: the +-1 orders' fringes do not show on the camera (a phase-only input "
            "SLM's grating through the Fourier SLM): check the alignment and the exposure"
        )
    measured = np.unique(np.r_[np.arange(0, fslm.levels, step), fslm.levels - 1])
    z = []
    for lv in measured:
        session.display(None, _fourier_pattern(session, g, int(lv), pair))
        frame = session.capture(n_frames).astype(np.float64)
        z.append(np.fft.fft2(frame - frame.mean())[ky, kxb])
    z = np.array(z)
    contrast = np.abs(z) / abs(z0)
    if contrast.min() < MIN_CONTRAST:
        raise CalibrationError(
            f"lut: the fringes lose contrast at Fourier level {int(measured[np.argmin(contrast)])}"
            f" ({contrast.min():.2f} of level 0's): the Fourier SLM's response there is not a "
            "phase"
        )
    phase, fit = circle_phase(z)  # about the circle's centre: constant light taken out
    return sampled_phase_response(
        "fourier_slm",
        measured,
        phase,
        fslm.levels,
        {
            "levels": measured,
            "fringe_phasor": z,
            "fringe_contrast": contrast,
            "fringe_bin": np.array([ky, kxb]),
            "grating_period_px": np.array([period]),
            "phase_measured": phase,
            **{k: np.array([v]) for k, v in fit.items()},
        },
    )


def cross_grating_levels(
    shape: tuple[int, int], period: int, levels: int, depth: float = DEPTH
) -> tuple[np.ndarray, tuple[float, float]]:
    """Input-SLM levels (H, W) of the phase ``depth (cos(2 pi x / P) + cos(2 pi y / P))``
    about the panel's centre (nominal LUT): the Fourier routine's pattern on a phase-only
    input SLM, whose spectrum holds the same five peaks (axis and +-1 orders along each
    axis, each the beam's spectrum, symmetric about its centre) as the amplitude pattern's,
    with the beam as the envelope. Returns the levels and the centre (row, col)."""
    h, w = shape
    rc, cc = h // 2, w // 2
    rr, col = np.mgrid[:h, :w].astype(np.float64)
    ph = depth * (np.cos(2 * np.pi * (col - cc) / period) + np.cos(2 * np.pi * (rr - rc) / period))
    return cycle_levels(ph / (2 * np.pi), None, levels), (float(rc), float(cc))
