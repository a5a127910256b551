"""Bench YAML fields: :class:`BenchConfigError`, unit checks and the field parsers.

Each ``parse_*`` takes a YAML value and the dotted name of its field (``bench.camera.pitch``,
for messages) and returns it in SI units (metres, seconds) or plain Python types; a bad value
raises :class:`BenchConfigError` naming the field, the value and what is allowed.
:data:`SLM_FIELDS` and :data:`CAMERA_FIELDS` map the fields a simulated device's section (or
profile) may hold to their parser; :func:`parse_fields` applies them to a whole section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.io.yaml_load import load_yaml
from fouroptics.units import UnitError, parse_quantity, require_unit

ROLES = {"input_slm": "slm", "fourier_slm": "slm", "camera": "camera", "fourier_camera": "camera"}


def real_roles(cfg: Any) -> list[str]:
    """The device sections (:data:`ROLES` order) of a parsed bench YAML that are not a
    ``driver: simulated`` mapping: the devices a run would open for real ([] for anything but
    a mapping)."""
    if not isinstance(cfg, dict):
        return []
    return [
        r
        for r in ROLES
        if cfg.get(r) is not None
        and not (isinstance(cfg[r], dict) and cfg[r].get("driver") == "simulated")
    ]


class BenchConfigError(ConfigError):
    """A bench YAML or profile field is missing, unknown or has a bad value."""


def load_yaml_file(path: Path, what: str) -> Any:
    """A YAML file through the project's one loader, errors as BenchConfigError."""
    try:
        return load_yaml(path, what)
    except ConfigError as exc:
        raise BenchConfigError(str(exc)) from exc


#: Fields of device sections and profiles that need a unit in a YAML.
_UNIT_FIELDS = {
    "pitch": "length",
    "exposure": "time",
    "exposure_limits": "time",
    "readout_time": "time",
    "timeout": "time",
    "frame_rate": "frequency",
}


def require_units(section: dict[str, Any], where: str) -> None:
    """Refuse bare numbers for the dimensioned fields of a YAML-sourced section."""
    try:
        for key, dimension in _UNIT_FIELDS.items():
            value = section.get(key)
            for v in value if isinstance(value, list | tuple) else [value]:
                require_unit(v, dimension, f"{where}.{key}")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc


def require_bench_units(cfg: dict[str, Any]) -> None:
    """Refuse bare numbers for the dimensioned fields of a bench YAML (the system's lengths
    are checked by ``FourFSystem.from_dict(..., require_units=True)``)."""
    for role in ROLES:
        if isinstance(cfg.get(role), dict):
            require_units(cfg[role], f"bench.{role}")
    laser = cfg.get("laser") if isinstance(cfg.get("laser"), dict) else {}
    imp = cfg.get("imperfections") if isinstance(cfg.get("imperfections"), dict) else {}
    try:
        require_unit(laser.get("power"), "power", "bench.laser.power")
        require_unit(laser.get("beam_waist"), "length", "bench.laser.beam_waist")
        require_unit(imp.get("beam_offset"), "length", "bench.imperfections.beam_offset")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc


def parse_mapping(v: Any, name: str) -> dict[str, Any]:
    """``v`` as a dict (None is empty); anything else is a BenchConfigError naming ``name``."""
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise BenchConfigError(f"{name}: got {v!r}; expected a mapping of fields")
    return dict(v)


def parse_seed(v: Any, name: str) -> int | None:
    """``v`` as a seed: an integer >= 0, or None."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
        raise BenchConfigError(f"{name}: got {v!r}; expected an integer >= 0 (or none)")
    return int(v)


# -- field parsing --------------------------------------------------------------------------
def parse_length(v: Any, name: str) -> float:
    """``v`` (a number of metres or a length with unit) in metres."""
    return parse_quantity(v, "length", name)


def parse_time(v: Any, name: str) -> float:
    """``v`` (a number of seconds or a time with unit) in seconds."""
    return parse_quantity(v, "time", name)


def parse_number(v: Any, name: str, allow_zero: bool = True) -> float:
    """``v`` as a dimensionless float (zero refused unless ``allow_zero``)."""
    return parse_quantity(v, "dimensionless", name, allow_zero=allow_zero)


def _fraction(low: float, high: float, low_open: bool = False, high_open: bool = False):
    """A parser of a dimensionless number in ``low..high`` (an end excluded when open)."""

    def parse(v: Any, name: str) -> float:
        x = parse_number(v, name)
        below = x <= low if low_open else x < low
        above = x >= high if high_open else x > high
        if below or above or not np.isfinite(x):
            span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise BenchConfigError(f"{name}: got {v!r}; expected a fraction in {span}")
        return x

    return parse


def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise BenchConfigError(f"{name}: got {v!r}; expected an integer")
    return int(v)


def _shape(v: Any, name: str) -> tuple[int, int]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise BenchConfigError(f"{name}: got {v!r}; expected [rows, columns]")
    return (_int(v[0], name), _int(v[1], name))


def parse_text(v: Any, name: str) -> str:
    """``v`` as a string."""
    if not isinstance(v, str):
        raise BenchConfigError(f"{name}: got {v!r}; expected text")
    return v


def _complex(v: Any, name: str) -> complex:
    real = (int, float, np.integer, np.floating)
    if (
        isinstance(v, list | tuple)
        and len(v) == 2
        and all(isinstance(x, real) and not isinstance(x, bool) for x in v)
    ):
        return complex(float(v[0]), float(v[1]))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return complex(v)
    raise BenchConfigError(f"{name}: got {v!r}; expected a number or [real, imag]")


def parse_limits(v: Any, name: str) -> tuple[float, float]:
    """``v`` as ``(shortest, longest)`` times in seconds."""
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise BenchConfigError(f"{name}: got {v!r}; expected [shortest, longest] times")
    return (parse_time(v[0], name), parse_time(v[1], name))


#: angle units a YAML phase may carry, in radians
_ANGLE_UNITS = {"rad": 1.0, "mrad": 1e-3, "deg": np.pi / 180}


def parse_angle(v: Any, name: str) -> float:
    """``v`` as an angle with its unit ("0.3 rad", "20 mrad", "15 deg") in radians; a bare
    number is refused (a phase in a YAML names its unit), as is a negative one."""
    parts = v.split() if isinstance(v, str) else []
    try:
        value = float(parts[0]) if len(parts) == 2 and parts[1] in _ANGLE_UNITS else None
    except ValueError:
        value = None
    if value is None or not np.isfinite(value) or value < 0:
        raise BenchConfigError(
            f"{name}: got {v!r}; expected an angle >= 0 with its unit ("
            f"{', '.join(_ANGLE_UNITS)}), e.g. '0.3 rad'"
        )
    return value * _ANGLE_UNITS[parts[1]]


SLM_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "shape": _shape,
    "pitch": parse_length,
    "bit_depth": _int,
    "modulation": parse_text,
    "fill_factor": _fraction(0.0, 1.0, low_open=True),
    "fringing": parse_number,
    "phase_range": parse_number,
    "gamma": parse_number,
    "amplitude_min": _fraction(0.0, 1.0, high_open=True),
    "dead_space": _complex,
    "phase_coupling": parse_angle,
    "flicker": parse_angle,
    "stray_light": parse_number,
    "name": parse_text,
}
CAMERA_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "shape": _shape,
    "pitch": parse_length,
    "bit_depth": _int,
    "quantum_efficiency": _fraction(0.0, 1.0, low_open=True),
    "gain": parse_number,
    "read_noise": parse_number,
    "dark_current": parse_number,
    "full_well": parse_number,
    "black_level": parse_number,
    "dsnu": parse_number,
    "prnu": parse_number,
    "dcnu": parse_number,
    "row_offset": parse_number,
    "column_offset": parse_number,
    "row_noise": parse_number,
    "exposure": parse_time,
    "exposure_limits": parse_limits,
    "readout_time": parse_time,
    "timeout": parse_time,
    "name": parse_text,
}


def parse_fields(
    section: dict[str, Any], fields: dict[str, Callable], where: str
) -> dict[str, Any]:
    """Each field of ``section`` through its parser in ``fields`` (unknown fields refused)."""
    out = {}
    for key, value in section.items():
        if key not in fields:
            raise BenchConfigError(
                f"{where}.{key}: unknown field (value {value!r}); allowed: "
                f"{', '.join(sorted(fields))}"
            )
        try:
            out[key] = fields[key](value, f"{where}.{key}")
        except UnitError as exc:
            raise BenchConfigError(str(exc)) from exc
    return out
