"""Validators shared by the device base classes: shapes, pitches, bit depths, seconds.

Each ``check_*`` returns the value in its canonical type (``(rows, columns)`` ints, metres,
bits, seconds) or raises :class:`~devices.interface.errors.InvalidSetting` naming the device,
the value and what is allowed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from devices.interface.errors import InvalidSetting


def uint_dtype(bit_depth: int) -> np.dtype:
    """Smallest unsigned dtype that holds ``bit_depth`` bits (uint8 up to 8 bits, else uint16)."""
    return np.dtype(np.uint8) if bit_depth <= 8 else np.dtype(np.uint16)


def is_real_number(value: object) -> bool:
    """True for ints and floats (Python or numpy), False for bools, strings, arrays, None."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_shape(value: Sequence[int], device: str) -> tuple[int, int]:
    try:
        items = tuple(value)
        ok = len(items) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) for v in items
        )
    except TypeError:
        ok = False
    if not ok or min(int(v) for v in items) < 1:
        raise InvalidSetting(device, f"shape {value!r}", "expected (rows, columns) integers >= 1")
    return (int(items[0]), int(items[1]))


def check_pitch(value: float, device: str) -> float:
    pitch = float(value) if is_real_number(value) else math.nan
    if not (math.isfinite(pitch) and 0 < pitch < 1e-2):
        raise InvalidSetting(
            device, f"pitch {value!r} m", "expected a pixel pitch in metres in (0, 1 cm)"
        )
    return pitch


def check_bit_depth(value: int, device: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool | np.bool_):
        ok = False
    else:
        ok = 1 <= int(value) <= 16
    if not ok:
        raise InvalidSetting(device, f"bit_depth {value!r}", "expected an integer from 1 to 16")
    return int(value)


def check_seconds(
    value: float, device: str, what: str, limits: tuple[float, float] | None = None
) -> float:
    """``value`` as float seconds: finite and > 0, or inside ``limits`` (both ends included).

    Raises:
        InvalidSetting: naming ``what``, the value and what is allowed (bools and strings are
            not numbers).
    """
    t = float(value) if is_real_number(value) else math.nan
    if limits is None:
        ok, allowed = t > 0, "a number of seconds > 0"
    else:
        ok, allowed = limits[0] <= t <= limits[1], f"a value in [{limits[0]:g}, {limits[1]:g}] s"
    if not (math.isfinite(t) and ok):
        raise InvalidSetting(device, f"{what} {value!r} s is not allowed", f"choose {allowed}")
    return t
