"""The wavefront of the Fourier path: named Zernike terms on normalised pupil coordinates.

One home for the aberration polynomial: the simulated bench evaluates its hidden wavefront with
it (at the displaced Fourier pixel centres), calibration fits its trial phases and measured
coefficients with it, and the compiler displays the conjugate of the measured one.

Coordinates: ``x`` along columns, ``y`` along rows, both divided by a normalising radius (the
Fourier SLM's half-width), so the unit disk is inscribed in the panel; ``r^2 = x^2 + y^2``.
The terms are Zernike polynomials **without** their normalisation factors (the convention of
the first three, kept so that a bench seed keeps its wavefront)::

    defocus      2 r^2 - 1                 astig_0      x^2 - y^2
    astig_45     2 x y                     coma_x       (3 r^2 - 2) x
    coma_y       (3 r^2 - 2) y             spherical    6 r^4 - 6 r^2 + 1
    trefoil_0    x^3 - 3 x y^2             trefoil_30   3 x^2 y - y^3

They are orthogonal over the unit disk (not over the square panel), each with zero mean there;
:data:`DISK_RMS` is each term's rms over the disk (``1/sqrt(n + 1)`` for ``m = 0``,
``1/sqrt(2 (n + 1))`` otherwise), so a coefficient ``a`` is ``a * DISK_RMS`` radians rms there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: the named terms, in the order of every coefficient vector
TERMS: tuple[str, ...] = (
    "defocus",
    "astig_0",
    "astig_45",
    "coma_x",
    "coma_y",
    "spherical",
    "trefoil_0",
    "trefoil_30",
)
#: the low-order terms a bench hid before the higher ones existed (``aberration``)
LOW_TERMS = TERMS[:3]
#: the higher terms (``aberration_high``)
HIGH_TERMS = TERMS[3:]
#: rms of each term over the unit disk (radial order n, azimuthal m)
DISK_RMS: dict[str, float] = {
    "defocus": 1 / np.sqrt(3),
    "astig_0": 1 / np.sqrt(6),
    "astig_45": 1 / np.sqrt(6),
    "coma_x": 1 / np.sqrt(8),
    "coma_y": 1 / np.sqrt(8),
    "spherical": 1 / np.sqrt(5),
    "trefoil_0": 1 / np.sqrt(8),
    "trefoil_30": 1 / np.sqrt(8),
}


def term(name: str, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One named term at normalised coordinates ``y``, ``x`` (broadcast), float64."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    r2 = x**2 + y**2
    if name == "defocus":
        return 2 * r2 - 1
    if name == "astig_0":
        return x**2 - y**2
    if name == "astig_45":
        return 2 * x * y
    if name == "coma_x":
        return (3 * r2 - 2) * x
    if name == "coma_y":
        return (3 * r2 - 2) * y
    if name == "spherical":
        return 6 * r2**2 - 6 * r2 + 1
    if name == "trefoil_0":
        return x**3 - 3 * x * y**2
    if name == "trefoil_30":
        return 3 * x**2 * y - y**3
    raise ValueError(f"zernike term: got {name!r}; allowed: {', '.join(TERMS)}")


def as_vector(coefficients: Mapping[str, float] | Sequence[float]) -> np.ndarray:
    """Coefficients (radians) as a (len(TERMS),) vector: a mapping by term name (missing
    terms 0), or a sequence in :data:`TERMS` order (a shorter one pads with zeros)."""
    out = np.zeros(len(TERMS))
    if isinstance(coefficients, Mapping):
        for name, value in coefficients.items():
            if name not in TERMS:
                raise ValueError(f"zernike term: got {name!r}; allowed: {', '.join(TERMS)}")
            out[TERMS.index(name)] = float(value)
        return out
    values = np.asarray(coefficients, dtype=np.float64).reshape(-1)
    if len(values) > len(TERMS):
        raise ValueError(f"zernike coefficients: got {len(values)}; at most {len(TERMS)}")
    out[: len(values)] = values
    return out


def wavefront(
    coefficients: Mapping[str, float] | Sequence[float], y: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """``W = sum_k a_k Z_k(y, x)`` in radians at normalised coordinates (broadcast shape)."""
    a = as_vector(coefficients)
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(np.broadcast_shapes(y.shape, x.shape))
    for name, c in zip(TERMS, a, strict=True):  # 8 terms, each vectorised over the grid
        if c:
            out += c * term(name, y, x)
    return out


def pixel_coordinates(
    shape: tuple[int, int], centre_px: tuple[float, float], radius_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates (y (H, 1), x (1, W)) of an SLM's pixel centres: pixel index
    minus ``centre_px`` (row, col, where the optical axis crosses the panel), over
    ``radius_px`` (pixels)."""
    if not radius_px > 0:
        raise ValueError(f"zernike radius_px: got {radius_px!r}; expected pixels > 0")
    y = (np.arange(shape[0], dtype=np.float64)[:, None] - centre_px[0]) / radius_px
    x = (np.arange(shape[1], dtype=np.float64)[None, :] - centre_px[1]) / radius_px
    return y, x


def slm_wavefront(
    coefficients: Mapping[str, float] | Sequence[float],
    shape: tuple[int, int],
    centre_px: tuple[float, float],
    radius_px: float,
) -> np.ndarray:
    """The wavefront (H, W) radians on an SLM's pixel grid, the basis centred on ``centre_px``
    (row, col pixels) and normalised by ``radius_px`` (pixels)."""
    y, x = pixel_coordinates(shape, centre_px, radius_px)
    return wavefront(coefficients, y, x)


def default_radius_px(shape: tuple[int, int]) -> float:
    """The normalising radius of a panel: its half-width ``max(shape) / 2`` pixels."""
    return max(shape) / 2


def aberration_phase(section: Mapping[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """The measured Fourier-path wavefront (H_F, W_F) radians from a calibration's plain-data
    ``aberration`` section (``terms``, ``coefficients`` rad, ``centre_px``, ``radius_px``); the
    compiler displays its conjugate ``exp(-i W)`` on the Fourier SLM."""
    terms = [t.decode() if isinstance(t, bytes) else str(t) for t in section["terms"]]
    coefficients = dict(zip(terms, np.asarray(section["coefficients"], float), strict=True))
    centre = tuple(float(v) for v in np.asarray(section["centre_px"]).reshape(2))
    return slm_wavefront(coefficients, shape, centre, float(section["radius_px"]))
