"""The Gaussian beam as calibration describes it: one home for its profile's convention.

A beam of 1/e^2 *intensity* radius ``w`` centred at ``c`` has the field amplitude
``exp(-(x - c)^2 / w^2)`` per axis (relative to its peak) and the intensity
``exp(-2 (x - c)^2 / w^2)``. The registration fits ``w`` to the measured intensity, weights its
dots by that intensity, and the run divides the amplitude out of the displayed images: all three
through :func:`gaussian_amplitude`, so no two of them can disagree on the factor 2.
"""

from __future__ import annotations

import numpy as np


def gaussian_amplitude(x: np.ndarray, centre: float, waist: float) -> np.ndarray:
    """Relative field amplitude ``exp(-(x - centre)^2 / waist^2)`` of a Gaussian beam along one
    axis, shape of ``x`` (float64); ``x``, ``centre`` and ``waist`` (the 1/e^2 intensity radius)
    in the same unit (pixels or metres). An infinite waist gives 1 (flat illumination)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(waist):
        return np.ones_like(x)
    return np.exp(-((x - centre) ** 2) / waist**2)
