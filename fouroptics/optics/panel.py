"""A smooth map over an SLM panel, as a calibration measures it: the one home of its basis.

An LCoS panel's cell gap varies smoothly (a tilt, a bowl), so its gray-level response varies
across the panel. A calibration describes the variation as a low-order polynomial map
``m(y, x) = sum_k c_k B_k(y, x)`` with the basis ``B = (1, y, x, y^2, x y, x^2)`` on normalised
pixel coordinates ``y, x`` in [-1, 1] (first and last pixel centres): a phase SLM realises
``m(y, x) * curve(l)`` (radians, ``curve`` relative to level 0), an amplitude SLM
``curve(l) ** m(y, x)`` (a gamma that varies).
"""

from __future__ import annotations

import numpy as np

#: the basis terms' names, in order
PANEL_TERMS = ("1", "y", "x", "y^2", "xy", "x^2")


def panel_coords(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised pixel coordinates (y (H, 1), x (1, W)) in [-1, 1], float64."""
    h, w = shape
    y = np.linspace(-1.0, 1.0, h) if h > 1 else np.zeros(1)
    x = np.linspace(-1.0, 1.0, w) if w > 1 else np.zeros(1)
    return y[:, None], x[None, :]


def panel_basis(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The basis (6, ...) at normalised coordinates ``y``, ``x`` (broadcast together)."""
    y, x = np.broadcast_arrays(np.asarray(y, np.float64), np.asarray(x, np.float64))
    return np.stack([np.ones_like(y), y, x, y * y, x * y, x * x])


def panel_map(coefficients: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The map ``sum_k c_k B_k`` (H, W) float64 of (6,) ``coefficients`` on a panel of ``shape``."""
    c = np.asarray(coefficients, np.float64).ravel()
    if c.shape != (len(PANEL_TERMS),) or not np.all(np.isfinite(c)):
        raise ValueError(
            f"panel map: got {c.size} coefficients; expected {len(PANEL_TERMS)} finite ones "
            f"({', '.join(PANEL_TERMS)})"
        )
    y, x = panel_coords(shape)
    return np.tensordot(c, panel_basis(y, x), axes=1)


def normalised_coords(
    rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions ``rows``, ``cols`` (any shape, fractional allowed) of a panel of
    ``shape`` in the map's normalised coordinates (``-1`` and ``1`` at the first and last
    pixel, as :func:`panel_coords` on the grid), float64."""
    h, w = shape
    y = np.asarray(rows, np.float64) / max(h - 1, 1) * 2 - 1
    x = np.asarray(cols, np.float64) / max(w - 1, 1) * 2 - 1
    return y, x


def fit_panel(
    y: np.ndarray,
    x: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray | None = None,
    ridge: float = 1e-3,
) -> np.ndarray:
    """Least-squares (6,) coefficients of the map through ``values`` at normalised
    coordinates ``y``, ``x`` (n,) (``weights`` (n,) >= 0: each point's weight, relative to
    the largest), the quadratic terms held towards 0 by ``ridge`` (a term the points barely
    see, such as ``xy`` when only the corners hold it, stays small instead of fitting noise)."""
    a = panel_basis(np.ravel(y), np.ravel(x)).T
    v = np.ravel(values).astype(np.float64)
    w = np.ones_like(v) if weights is None else np.ravel(weights) / max(np.max(weights), 1e-300)
    w = np.sqrt(w)
    reg = np.sqrt(ridge) * np.eye(len(PANEL_TERMS))[3:]
    a = np.vstack([a * w[:, None], reg])
    coef, *_ = np.linalg.lstsq(a, np.r_[v * w, np.zeros(len(reg))], rcond=None)
    return coef
