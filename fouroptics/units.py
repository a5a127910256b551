"""Physical quantities from YAML or Python: SI floats or unit strings ("532 nm", "8 um", "100 mm").

All code works in SI units (metres, seconds, watts). :func:`parse_quantity` is the single place
where a user-supplied value becomes a number; every error names the field, the value and what
is allowed.
"""

from __future__ import annotations

import math
import re
from numbers import Real

from fouroptics.errors import ConfigError

#: Allowed unit strings per physical dimension, with their factor to SI.
UNITS: dict[str, dict[str, float]] = {
    "length": {
        "m": 1.0,
        "cm": 1e-2,
        "mm": 1e-3,
        "um": 1e-6,
        "µm": 1e-6,
        "μm": 1e-6,
        "micron": 1e-6,
        "microns": 1e-6,
        "nm": 1e-9,
        "pm": 1e-12,
    },
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9, "min": 60.0},
    "power": {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "µW": 1e-6, "nW": 1e-9},
    "frequency": {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6},
    "dimensionless": {"": 1.0, "%": 1e-2},
}

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")


class UnitError(ConfigError):
    """A configuration value has a missing, unknown or wrong-dimension unit, or a bad value."""


def parse_quantity(
    value: object,
    dimension: str,
    name: str,
    *,
    positive: bool = True,
    allow_zero: bool = False,
) -> float:
    """Convert ``value`` (a real number in SI, or a string "<number> <unit>") to an SI float.

    Args:
        value: e.g. ``5.32e-7``, ``"532 nm"``, ``"8 um"``, ``"100 mm"``.
        dimension: one of the keys of :data:`UNITS` ("length", "time", ...).
        name: the field's name, used in error messages (e.g. "system.wavelength").
        positive: require value > 0 (or >= 0 with ``allow_zero``).
        allow_zero: accept exactly zero when ``positive`` is set.

    Raises:
        UnitError: naming the field, the value and what is allowed.
    """
    units = UNITS[dimension]
    if isinstance(value, bool) or value is None:
        raise UnitError(f"{name}: got {value!r}; expected a {dimension} ({_allowed(dimension)})")
    if isinstance(value, Real):
        number = float(value)
    elif isinstance(value, str):
        match = _NUMBER_UNIT.match(value)
        if not match:
            raise UnitError(
                f"{name}: cannot read {value!r} as a {dimension}; write a number and a unit, "
                f"e.g. '532 nm' ({_allowed(dimension)})"
            )
        unit = (match.group(2) or "").strip()
        if unit not in units:
            other = _dimension_of(unit)
            hint = f" ({unit!r} is a {other})" if other else ""
            raise UnitError(
                f"{name}: unknown unit {unit!r} in {value!r}{hint}; allowed for a {dimension}: "
                f"{_allowed(dimension)}"
            )
        number = float(match.group(1)) * units[unit]
    else:
        raise UnitError(
            f"{name}: got {type(value).__name__} {value!r}; expected a number in SI or a "
            f"string with a unit ({_allowed(dimension)})"
        )
    if not math.isfinite(number):
        raise UnitError(f"{name}: got {value!r}; it must be finite")
    if positive and (number < 0 or (number == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise UnitError(f"{name}: got {value!r}; it must be {bound}")
    return number


def _allowed(dimension: str) -> str:
    units = [u for u in UNITS[dimension] if u]
    return "SI number or one of: " + ", ".join(units) if units else "a plain number"


def _dimension_of(unit: str) -> str | None:
    for dim, table in UNITS.items():
        if unit in table and unit:
            return dim
    return None
