"""Gray-level patterns the routines display: dot grids, split fields, blazed gratings, the
Zernike phase-contrast filter (:mod:`calibration.phase_contrast`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from calibration.errors import CalibrationError

#: the zero-order disc's radius, Fourier pixels: the beam's focus plus the axis's unknown
#: decentre (0.7 px rms on the misaligned bench)
ZERNIKE_RADIUS = 3.0
#: the dots' phase for the brightest positive phase contrast, ``|e^{i phi} - 1 + i|^2``
DOT_PHASE = 0.75 * np.pi


def dot_grid(
    shape: tuple[int, int], spacing: int, size: int, margin: int, level: int
) -> tuple[np.ndarray, np.ndarray]:
    """Square dots of ``size`` pixels every ``spacing`` pixels, ``margin`` from the edges.

    Returns:
        levels (H, W) int, and the dot centres (n, 2) float (row, column pixel coordinates).
    """
    h, w = shape
    rows = np.arange(margin, h - margin - size + 1, spacing)
    cols = np.arange(margin, w - margin - size + 1, spacing)
    levels = np.zeros(shape, dtype=np.int64)
    centres = []
    for r in rows:
        for c in cols:
            levels[r : r + size, c : c + size] = level
            centres.append((r + (size - 1) / 2, c + (size - 1) / 2))
    return levels, np.array(centres, dtype=np.float64).reshape(-1, 2)


def blazed_levels(
    shape: tuple[int, int], period: tuple[float, float], inverse_lut: np.ndarray | None, levels: int
) -> np.ndarray:
    """Gray levels of a blazed phase ramp ``2 pi (r / period_y + c / period_x)`` (inf period:
    no ramp along that axis), through ``inverse_lut`` (levels per target phase bin 2 pi k / L)
    when given, else the nominal linear map."""
    r = np.arange(shape[0])[:, None] / period[0] if np.isfinite(period[0]) else 0.0
    c = np.arange(shape[1])[None, :] / period[1] if np.isfinite(period[1]) else 0.0
    return cycle_levels((r + c) * np.ones(shape), inverse_lut, levels)


def phase_levels(
    phase: np.ndarray,
    inverse_phase: np.ndarray | None,
    levels: int,
    panel: np.ndarray | None = None,
) -> np.ndarray:
    """Gray levels (H, W) int of a phase pattern (radians, any range): the bin ``2 pi k / L``
    nearest each phase modulo 2 pi, through the measured ``inverse_phase`` LUT when given
    (else the nominal linear map).

    ``panel``: (H, W) the measured map of how the response varies across the panel
    (:func:`fouroptics.optics.panel.panel_map`; the pixel realises ``panel * curve(l)``): each
    pixel asks for ``phase / panel`` (wrapped to one cycle first, and held below the top bin
    where the panel's response falls short of a cycle)."""
    if panel is None:
        return cycle_levels(phase / (2 * np.pi), inverse_phase, levels)
    cycles = np.mod(phase / (2 * np.pi), 1.0) / np.asarray(panel, np.float64)
    return cycle_levels(np.minimum(cycles, (levels - 1) / levels), inverse_phase, levels)


def cycle_levels(cycles: np.ndarray, inverse_lut: np.ndarray | None, levels: int) -> np.ndarray:
    """Gray levels of a phase given in cycles (any range): the bin ``k / L`` of a cycle nearest
    each value modulo 1, through ``inverse_lut`` (levels per target phase bin ``2 pi k / L``)
    when given, else the nominal linear map ``k``."""
    k = np.floor(np.mod(cycles, 1.0) * levels + 0.5).astype(np.int64) % levels
    return k if inverse_lut is None else np.asarray(inverse_lut)[k]


def zernike_filter(
    shape: tuple[int, int],
    theta: float,
    levels: int,
    inverse_phase: np.ndarray | None = None,
    radius: float = ZERNIKE_RADIUS,
    centre: tuple[float, float] | None = None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Fourier-SLM gray levels (H_F, W_F) int: ``base`` (default level 0 everywhere) with the
    disc of ``radius`` pixels about ``centre`` (default the axis, ``n // 2``) at the level of
    phase ``theta`` (radians, through ``inverse_phase`` when measured)."""
    h, w = shape
    cy, cx = (h // 2, w // 2) if centre is None else centre
    rr, cc = np.ogrid[:h, :w]
    disc = (rr - cy) ** 2 + (cc - cx) ** 2 <= radius**2
    out = np.zeros(shape, np.int64) if base is None else np.array(base, dtype=np.int64)
    out[disc] = phase_levels(np.array([theta]), inverse_phase, levels)[0]
    return out


def phase_dot_level(levels: int, inverse_phase: np.ndarray | None = None) -> int:
    """The input level of phase :data:`DOT_PHASE` (a measured LUT's, else the nominal 2 pi
    range's)."""
    return int(phase_levels(np.array([DOT_PHASE]), inverse_phase, levels)[0])


def check_dot_grid(session: Any, spacing: int, dot: int, routine: str) -> None:
    """Refuse, in one line, a dot grid that does not fit the input SLM (at least 2 x 2 dots)."""
    h, w = session.input_shape
    if min(h, w) < 2 * spacing or dot >= spacing:
        raise CalibrationError(
            f"{routine}: a dot grid of spacing {spacing} px and dots of {dot} px does not fit "
            f"the input SLM {h}x{w}: use a spacing of at most {min(h, w) // 2} px and dots "
            "smaller than it, or a larger SLM"
        )


def bright_windows(signal: np.ndarray) -> np.ndarray:
    """Camera pixels (bool) within 3 pixels of where ``signal`` exceeds a fifth of its peak."""
    mask = signal > 0.2 * signal.max()
    return ndimage.binary_dilation(mask, iterations=3)
