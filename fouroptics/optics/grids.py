"""Pixel grids of the planes of a 4f system: shape, pitch, fill factor and pixel coordinates.

Convention (used everywhere in fouroptics): along an axis of ``n`` pixels of pitch ``p`` the pixel
centres sit at ``x_j = (j - n // 2) * p`` for ``j = 0 .. n - 1``; index ``n // 2`` is the optical
axis. This is numpy's ``fftshift`` convention, so a centred DFT needs no half-pixel shift.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Number

import numpy as np

from fouroptics.units import UnitError, parse_quantity

#: Largest grid accepted, pixels (2^28: a complex64 field of 2 GiB).
MAX_PIXELS = 1 << 28


@dataclass(frozen=True)
class PixelGrid:
    """A rectangular array of pixels (an SLM or a camera sensor).

    Args:
        shape: (rows, columns) = (H, W), pixels.
        pitch: centre-to-centre distance in metres (same along both axes), or a unit string.
        fill_factor: fraction of the pixel *area* that is active (0 < ff <= 1). The active
            aperture is a centred square of side ``sqrt(fill_factor) * pitch``.
        gap_transmission: complex amplitude transmission (or reflectance) of the inactive
            inter-pixel area, e.g. 1.0 for an LCoS whose gaps reflect unmodulated light
            (the "zero order"), 0.0 for absorbing gaps. Only used for the Fourier SLM.
        name: used in error messages ("fourier_slm", "camera", ...).

    A grid of more than 2^28 pixels, or whose complex64 field exceeds the memory available, is
    refused at construction (:func:`check_grid_size`).
    """

    shape: tuple[int, int]
    pitch: float
    fill_factor: float = 1.0
    gap_transmission: complex = 0.0
    name: str = "grid"

    def __post_init__(self) -> None:
        shape = tuple(self.shape) if isinstance(self.shape, list | tuple | np.ndarray) else ()
        if len(shape) != 2 or not all(_is_positive_int(s) for s in shape):
            raise UnitError(
                f"{self.name}.shape: got {self.shape!r}; expected two positive integers (H, W)"
            )
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        check_grid_size(self.shape, self.name)
        object.__setattr__(
            self, "pitch", parse_quantity(self.pitch, "length", f"{self.name}.pitch")
        )
        ff = parse_quantity(self.fill_factor, "dimensionless", f"{self.name}.fill_factor")
        if not 0.0 < ff <= 1.0:
            raise UnitError(
                f"{self.name}.fill_factor: got {self.fill_factor!r}; allowed 0 < ff <= 1"
            )
        object.__setattr__(self, "fill_factor", ff)
        gap = self.gap_transmission
        if isinstance(gap, bool) or not isinstance(gap, Number):
            raise UnitError(
                f"{self.name}.gap_transmission: got {gap!r}; expected a number with |t| <= 1 "
                "(or [real, imag] in a YAML)"
            )
        gap = complex(gap)
        if not np.isfinite(gap) or abs(gap) > 1.0:
            raise UnitError(
                f"{self.name}.gap_transmission: got {self.gap_transmission!r}; allowed |t| <= 1"
            )
        object.__setattr__(self, "gap_transmission", gap)

    @property
    def extent(self) -> tuple[float, float]:
        """Physical size (height, width) in metres."""
        return (self.shape[0] * self.pitch, self.shape[1] * self.pitch)

    @property
    def aperture(self) -> float:
        """Side of the square active pixel aperture, metres."""
        return float(np.sqrt(self.fill_factor) * self.pitch)

    def coords(self, axis: int) -> np.ndarray:
        """Pixel-centre coordinates along ``axis`` (0 = rows/y, 1 = columns/x), metres, (n,)."""
        return axis_coords(self.shape[axis], self.pitch)


def check_grid_size(shape: tuple[int, int], name: str, itemsize: int = 8) -> None:
    """Refuse a grid whose complex field cannot be held: more than :data:`MAX_PIXELS` pixels,
    or more bytes (``itemsize`` per pixel; 8 = complex64) than the memory available now.

    Raises:
        UnitError: naming the grid, its shape and the estimated memory of one field.
    """
    pixels = shape[0] * shape[1]
    need = pixels * itemsize
    what = f"{name}.shape: {shape[0]} x {shape[1]} = {pixels:,} pixels"
    field = f"one complex field on it needs {_gib(need)}"
    if pixels > MAX_PIXELS:
        raise UnitError(f"{what}; {field}; allowed up to 2^28 = {MAX_PIXELS:,} pixels")
    available = _available_memory()
    if available is not None and need > available:
        raise UnitError(f"{what}; {field}, more than the {_gib(available)} of memory available")


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def _available_memory() -> int | None:
    """Bytes of memory available to allocate now (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def axis_coords(n: int, pitch: float) -> np.ndarray:
    """Centres ``(j - n // 2) * pitch`` of ``n`` pixels, metres, shape (n,), float64."""
    return (np.arange(n, dtype=np.float64) - n // 2) * pitch


def _is_positive_int(value: object) -> bool:
    try:
        return int(value) == value and int(value) > 0 and not isinstance(value, bool)
    except (TypeError, ValueError):
        return False


def embed_centre(x, shape: tuple[int, int]):
    """Place ``x`` (..., h, w) at the centre of a zero array (..., H, W) (numpy or torch).

    Pixel ``h // 2, w // 2`` of ``x`` lands on ``H // 2, W // 2`` (the optical axis).
    """
    h, w = x.shape[-2:]
    H, W = shape
    if h > H or w > W:
        raise ValueError(f"embed_centre: image {h}x{w} does not fit in the grid {H}x{W}")
    oy, ox = H // 2 - h // 2, W // 2 - w // 2
    if hasattr(x, "new_zeros"):
        out = x.new_zeros((*x.shape[:-2], H, W))
    else:
        out = np.zeros((*x.shape[:-2], H, W), dtype=np.result_type(x.dtype, np.float32))
    out[..., oy : oy + h, ox : ox + w] = x
    return out


def crop_centre(x, shape: tuple[int, int]):
    """The central (..., h, w) window of ``x`` (..., H, W); inverse of :func:`embed_centre`."""
    H, W = x.shape[-2:]
    h, w = shape
    if h > H or w > W:
        raise ValueError(f"crop_centre: window {h}x{w} is larger than the grid {H}x{W}")
    oy, ox = H // 2 - h // 2, W // 2 - w // 2
    return x[..., oy : oy + h, ox : ox + w]
