"""Physical quantities from YAML or Python: SI floats or unit strings ("532 nm", "8 um", "100 mm").

All code works in SI units (metres, seconds, watts). :func:`parse_quantity` is the single place
where a user-supplied value becomes a number; every error names the field, the value and what
is allowed. In a YAML file a dimensioned value needs its unit (``wavelength: 532`` is refused,
not read as 532 m): loaders call :func:`require_unit` on YAML-sourced values; the Python API
keeps SI floats.
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
    "time": {
        "s": 1.0,
        "ms": 1e-3,
        "us": 1e-6,
        "µs": 1e-6,
        "μs": 1e-6,
        "ns": 1e-9,
        "min": 60.0,
        "h": 3600.0,
    },
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


def parse_option(text: str, dimension: str, name: str) -> float:
    """A command-line option's quantity in SI: a number and a unit (``"2 ms"``) or a bare
    number already in SI (``"0.002"``: seconds). A YAML field keeps needing its unit
    (:func:`require_unit`); on the command line the option's help states the SI unit.

    Raises:
        UnitError: as :func:`parse_quantity`, naming the option.
    """
    try:
        number = float(text)
    except (TypeError, ValueError):
        return parse_quantity(text, dimension, name)
    return parse_quantity(number, dimension, name)


#: Dimensions whose values need a unit in a YAML file.
DIMENSIONED = ("length", "time", "power", "frequency")
#: Plural names for messages.
_PLURAL = {"length": "lengths", "time": "times", "power": "powers", "frequency": "frequencies"}
#: Units offered as suggestions, per dimension.
_SUGGEST = {
    "length": ("m", "mm", "um", "nm"),
    "time": ("s", "ms", "us", "ns"),
    "power": ("W", "mW", "uW", "nW"),
    "frequency": ("Hz", "kHz", "MHz"),
}
#: A typical SI value by keyword of the field name (first match), to suggest a unit.
_TYPICAL: tuple[tuple[str, float], ...] = (
    ("wavelength", 600e-9),
    ("pitch", 8e-6),
    ("aperture", 25e-3),
    ("waist", 2e-3),
    ("offset", 100e-6),
    ("timeout", 5.0),
    ("f1", 0.1),
    ("f2", 0.1),
    ("focal", 0.1),
)
_TYPICAL_DEFAULT = {"length": 1e-3, "time": 1e-3, "power": 1e-3, "frequency": 1e3}


def require_unit(value: object, dimension: str, name: str) -> None:
    """Refuse a bare number for a dimensioned field read from a YAML file.

    Zero is accepted bare (it is zero in every unit); strings, None and other types are left to
    :func:`parse_quantity`.

    Raises:
        UnitError: e.g. "system.wavelength: 532 has no unit; lengths in a YAML need one, e.g.
            '532 nm'" (the unit suggested from the number's magnitude and the field).
    """
    if dimension not in DIMENSIONED or isinstance(value, bool) or not isinstance(value, Real):
        return
    if value == 0 or not math.isfinite(float(value)):
        return
    raise UnitError(
        f"{name}: {value!r} has no unit; {_PLURAL[dimension]} in a YAML need one, e.g. "
        f"'{suggest_unit(float(value), dimension, name)}'"
    )


def suggest_unit(number: float, dimension: str, name: str) -> str:
    """``number`` with the unit that makes it closest to a typical value of the field."""
    typical = next(
        (v for key, v in _TYPICAL if key in name.rsplit(".", 1)[-1]),
        _TYPICAL_DEFAULT[dimension],
    )
    units = UNITS[dimension]
    best = min(
        _SUGGEST[dimension],
        key=lambda u: abs(math.log10(max(abs(number) * units[u], 1e-300) / typical)),
    )
    return f"{number:g} {best}"


def _allowed(dimension: str) -> str:
    units = [u for u in UNITS[dimension] if u]
    return "SI number or one of: " + ", ".join(units) if units else "a plain number"


def _dimension_of(unit: str) -> str | None:
    for dim, table in UNITS.items():
        if unit in table and unit:
            return dim
    return None


#: Time units a rate may be given per (``"0.5 px/h"``), to seconds.
RATE_TIMES = {"s": 1.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^/\d\s]*)\s*/\s*(\S+)\s*$")


def parse_rate(value: object, numerators: dict[str, float], name: str) -> float:
    """A drift rate in SI per second: ``"<number> <unit>/<time>"`` with the unit one of
    ``numerators`` (its factor to SI: e.g. ``{"px": 1.0}``, ``{"": 1.0, "%": 0.01}``) and the
    time one of :data:`RATE_TIMES` (``"0.5 px/h"``, ``"2 %/h"``, ``"1e-3/h"``). Zero may be
    bare; any other bare number is refused (a rate needs its time unit). Rates are >= 0.

    Raises:
        UnitError: naming the field, the value and what is allowed.
    """
    allowed = ", ".join(repr(f"{u}/{t}") for u in numerators for t in RATE_TIMES)
    if isinstance(value, Real) and not isinstance(value, bool) and float(value) == 0:
        return 0.0
    match = _RATE.match(value) if isinstance(value, str) else None
    if not match:
        example = f"0.5 {next(iter(numerators))}/h"
        raise UnitError(
            f"{name}: {value!r} has no time unit; write a rate such as {example!r} "
            f"(allowed: {allowed})"
        )
    number, unit, per = match.groups()
    if unit not in numerators or per not in RATE_TIMES:
        raise UnitError(f"{name}: unknown rate unit in {value!r}; allowed: {allowed}")
    rate = float(number) * numerators[unit] / RATE_TIMES[per]
    if not (math.isfinite(rate) and rate >= 0):
        raise UnitError(f"{name}: got {value!r}; a drift rate must be finite and >= 0")
    return rate
