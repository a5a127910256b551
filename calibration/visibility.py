"""Whether the camera sees the input SLM at all: the probe that tells a 4f bench from optics
where the camera looks only at the Fourier SLM's far field (slmsuite's ``SimulatedCamera``,
or a lab's Fourier-camera-only setup), where every routine that shows patterns on the input
SLM cannot work.

Three captures, no dark frame needed: the input SLM at level 0 twice (their difference is the
frames' noise) and at random levels once; the Fourier SLM shows a Zernike phase-contrast
filter when the input SLM is phase-only (so its phase shows), else level 0. The input SLM is
seen when the random pattern changes the frame by more than :data:`SEEN_OVER_NOISE` times the
noise (and by more than one DN).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calibration.patterns import zernike_filter

#: the mean absolute change a pattern must make, over the frames' own mean absolute difference
SEEN_OVER_NOISE = 3.0


def input_seen(session: Any, seed: int = 0) -> tuple[bool, dict[str, float]]:
    """Probe whether a change of the input SLM's pattern changes the camera frame.

    Args:
        session: a :class:`calibration.session.Session` (display, capture only).
        seed: the random pattern's seed.

    Returns:
        (seen, numbers): ``change`` and ``noise`` (mean |difference|, DN) and ``saturated``
        (fraction of pixels at the ADC's top in the flat frame); a frame mostly saturated
        counts as seen (the probe cannot tell: the routines' own exposure decides).
    """
    session.start("probe")
    bench = session.bench
    in_slm, f_slm = bench.input_slm, bench.fourier_slm
    h, w = session.input_shape
    if in_slm.modulation == "phase" and f_slm.modulation == "phase":
        fourier = zernike_filter(session.fourier_shape, 0.5 * np.pi, f_slm.levels)
    else:
        fourier = np.zeros(session.fourier_shape, dtype=np.int64)
    flat = np.zeros((h, w), dtype=np.int64)
    rand = np.random.default_rng(seed).integers(0, in_slm.levels, (h, w))
    session.display(flat, fourier)
    a1 = session.capture(1).astype(np.float64)
    a2 = session.capture(1).astype(np.float64)
    session.display(rand, None)
    b = session.capture(1).astype(np.float64)
    session.display(flat, None)
    noise = float(np.mean(np.abs(a1 - a2)))
    change = float(np.mean(np.abs(b - a1)))
    saturated = float(np.mean(a1 >= 0.98 * session.max_dn))
    seen = saturated > 0.5 or change > max(SEEN_OVER_NOISE * noise, 1.0 / a1.size)
    return seen, {"change": change, "noise": noise, "saturated": saturated}


def unseen_reason(name: str, numbers: dict[str, float]) -> str:
    """The one line a routine that needs the input SLM is skipped with."""
    return (
        f"{name}: the camera does not see the input SLM (a random pattern on it changed the "
        f"frame by {numbers['change']:.3g} DN against {numbers['noise']:.3g} DN of noise): "
        "the camera looks at the Fourier SLM's far field only (as slmsuite's SimulatedCamera "
        "does); needs a camera in the 4f system's output plane"
    )
