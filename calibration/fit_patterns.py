"""Patterns that fit the SLMs at hand: the Fourier routine's input grating chosen from the
SLMs' shapes and pitches (or a lab's override, checked), and, per routine, why it cannot run
on a bench (before it takes a frame where the bench's geometry alone says so).

The Fourier routine (:mod:`calibration.fourier`) shows a grating of period ``P`` input pixels
under a Gaussian envelope of rms ``sigma`` input pixels; its spectrum is five peaks on the
Fourier SLM, ``g = lambda f1 / (P p_in p_F)`` Fourier pixels apart, each of rms width
``s_F = lambda f1 / (2 pi sigma p_in p_F)``. The split-region measurement of a peak needs

* a flat region of ``half_band >= 3 s_F`` pixels on each side of it (the peak's light),
* the neighbouring peak outside it: ``g >= half_band + 3 s_F``,
* every region on the panel: ``g + half_band + max|step| + 2 < min(H_F, W_F) / 2``,
* a grating that shows under the envelope: ``P <= 2 sigma``.

:func:`fourier_pattern` picks the shortest period (the widest lever arm for scale and
rotation) that meets all four, and says what would make it fit when none does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from calibration.errors import CalibrationError

#: the Fourier routine's defaults on a panel large enough (the 256/512-pixel benches)
DEFAULT_PERIOD = 4
DEFAULT_HALF_BAND = 24
#: the envelope's rms is an eighth of the input SLM's shorter side up to this (input px): the
#: wider the envelope, the narrower the peaks and the smaller the pull of the input pixels'
#: aperture on their centres (:func:`calibration.fourier.fourier_mapping`)
DEFAULT_SIGMA = 32.0
#: boundary positions about each peak, Fourier pixels (:func:`calibration.fourier.peak_centre`)
STEPS = (-2, -1, 0, 1, 2, 3)


@dataclass(frozen=True)
class FourierPattern:
    """The Fourier routine's input grating and split regions.

    Attributes:
        period: input grating period, input pixels.
        sigma: envelope rms, input pixels.
        half_band: width of each flat split region, Fourier pixels.
        peak_distance: the side peaks' distance from the axis, Fourier pixels.
        peak_width: rms width of each spectral peak, Fourier pixels.
    """

    period: int
    sigma: float
    half_band: int
    peak_distance: float
    peak_width: float

    def frames(self) -> int:
        """Captures of the split measurement: 5 peaks x 2 axes x 2 regions x steps."""
        return 5 * 2 * 2 * len(STEPS)


def _scale(system: Any) -> float:
    """``lambda f1 / (p_in p_F)``: Fourier pixels per cycle per input pixel."""
    return system.wavelength * system.f1 / (system.input_pitch * system.fourier_pitch)


def _fits(system: Any, period: float, sigma: float, half_band: int) -> str | None:
    """None when the grating fits, else which condition fails (one clause)."""
    g = _scale(system) / period
    s_f = _scale(system) / (2 * math.pi * sigma)
    half = min(system.fourier_shape) / 2
    reach = g + half_band + max(abs(s) for s in STEPS) + 2
    if period > 2 * sigma:
        return f"a period of {period:g} px shows under fewer than two periods of the envelope"
    if half_band < 3 * s_f:
        return f"the spectral peaks ({s_f:.1f} px rms) are wider than the {half_band}-px regions"
    if g < half_band + 3 * s_f:
        return (
            f"its spectral peaks ({g:.1f} Fourier px apart, {s_f:.1f} px rms) overlap the "
            f"{half_band}-px split regions of their neighbours"
        )
    if reach >= half:
        return (
            f"its spectrum reaches {reach:.0f} Fourier pixels from the axis, beyond the "
            f"Fourier SLM ({system.fourier_shape[0]}x{system.fourier_shape[1]})"
        )
    return None


def fourier_pattern(system: Any, period: int | None = None) -> FourierPattern:
    """The Fourier routine's grating for ``system`` (a :class:`~fouroptics.optics.system`
    with wavelength, f1, input/Fourier pitches and shapes, SI units): ``period`` (input
    pixels) when given and it fits, else the shortest that fits.

    Raises:
        CalibrationError: ``period`` does not fit (naming the periods that do), or none fits
            (naming the Fourier SLM size or f1 that would).
    """
    sigma = min(DEFAULT_SIGMA, min(system.input_shape) / 8)
    s_f = _scale(system) / (2 * math.pi * sigma)
    half_band = max(DEFAULT_HALF_BAND, math.ceil(3 * s_f))
    fitting = [
        p for p in range(2, int(2 * sigma) + 1) if _fits(system, p, sigma, half_band) is None
    ]
    if period is not None:
        if period < 2:
            raise CalibrationError(f"--fourier-period: got {period}; a grating needs >= 2 px")
        why = _fits(system, period, sigma, half_band)
        if why is not None:
            allowed = f"{fitting[0]}..{fitting[-1]} px" if fitting else "none on this bench"
            raise CalibrationError(
                f"--fourier-period: a {period}-px input grating does not fit: {why}; "
                f"periods that fit: {allowed}"
            )
    elif not fitting:
        period_max = int(2 * sigma)
        g = _scale(system) / period_max
        need = 2 * (max(g, half_band + 3 * s_f) + half_band + max(abs(s) for s in STEPS) + 3)
        shrink = min(system.fourier_shape) / need
        why = _fits(system, period_max, sigma, half_band)
        raise CalibrationError(
            f"fourier: no input grating fits this bench ({why}"
            f" even at a {period_max}-px period): it needs a Fourier SLM of at least "
            f"{math.ceil(need)} px across, or f1 at most {system.f1 * shrink * 1e3:.0f} mm, or "
            f"an input SLM of at least {math.ceil(8 * sigma * need / min(system.fourier_shape))} "
            "px"
        )
    chosen = (
        period
        if period is not None
        else (DEFAULT_PERIOD if DEFAULT_PERIOD in fitting else fitting[0])
    )
    return FourierPattern(
        period=int(chosen),
        sigma=float(sigma),
        half_band=int(half_band),
        peak_distance=_scale(system) / chosen,
        peak_width=s_f,
    )


def static_refusals(bench: Any, fourier_period: int | None = None) -> dict[str, str]:
    """Routine name -> why it cannot run on ``bench``, from what the bench YAML says alone
    (modulations, shapes, pitches): the routines not named may still refuse once they look
    (no light, no dark frames, an input SLM the camera does not see).

    The bench is read through its system and its SLMs' ``modulation`` only."""
    out: dict[str, str] = {}
    in_phase = bench.input_slm.modulation == "phase"
    f_phase = bench.fourier_slm.modulation == "phase"
    if not f_phase:
        for name in ("crosstalk", "fourier", "aberration"):
            out[name] = (
                f"{name}: the Fourier SLM modulates {bench.fourier_slm.modulation}; it needs a "
                "phase Fourier SLM (blazed gratings)"
            )
    if in_phase:
        out.setdefault(
            "crosstalk",
            "crosstalk: the input SLM is phase-only, so its spot does not show on the camera "
            "through the Fourier SLM under test; not yet measured through a Zernike filter "
            "(needs an amplitude input SLM)",
        )
        out.setdefault(
            "aberration",
            "aberration: the input SLM is phase-only; this routine needs an amplitude input SLM "
            "(its dots' images)",
        )
    if fourier_period is not None:  # a lab's override: refused (not skipped) when it does not fit
        fourier_pattern(bench.system, fourier_period)
    elif "fourier" not in out:
        try:
            fourier_pattern(bench.system, fourier_period)
        except CalibrationError as exc:
            out["fourier"] = str(exc) if str(exc).startswith("fourier") else f"fourier: {exc}"
    return out
