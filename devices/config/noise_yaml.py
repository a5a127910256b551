"""A bench YAML's temporal and fixed-pattern noise beyond the EMVA 1288 basics:
``imperfections: noise:``, which overrides the device profiles' spec-sheet values.

::

    imperfections:
      noise:
        flicker: 0.05 rad        # Fourier SLM phase flicker, rms (rad, mrad or deg)
        stray_light: 0.1 %       # share of the laser power on the camera as background (or 1e-3)
        dcnu: 0.5 e-/s           # camera dark-current non-uniformity, rms across pixels
        row_offset: 0.5 e-       # camera fixed offset per row, rms
        column_offset: 0.5 e-    # camera fixed offset per column, rms
        row_noise: 0.3 e-        # camera temporal offset per row and frame, rms

Each value needs its unit (``stray_light`` is a fraction: bare or ``%``); a negative rms or an
unknown field is refused in one line naming it. The profiles give the defaults: the Fourier
SLM's ``flicker`` and ``stray_light`` (holoeye_pluto2.yaml), the camera's ``dcnu``,
``row_offset``, ``column_offset`` and ``row_noise`` (sony_imx174_cmos.yaml, ...).
"""

from __future__ import annotations

import math
from typing import Any

from devices.config.fields import BenchConfigError, parse_angle, parse_mapping, parse_number
from fouroptics.units import UnitError

#: the camera's fields and the one unit each takes
CAMERA_NOISE = {"dcnu": "e-/s", "row_offset": "e-", "column_offset": "e-", "row_noise": "e-"}
NOISE_KEYS = ("flicker", "stray_light", *CAMERA_NOISE)


def parse_electrons(value: Any, unit: str, name: str) -> float:
    """``"<number> <unit>"`` (``unit`` ``e-`` or ``e-/s``) as a float >= 0; 0 may be bare."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    parts = value.split() if isinstance(value, str) else []
    try:
        x = float(parts[0]) if len(parts) == 2 and parts[1] == unit else math.nan
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and x >= 0):
        raise BenchConfigError(f"{name}: got {value!r}; expected an rms >= 0 in {unit}, "
                               f"e.g. '0.5 {unit}'")  # fmt: skip
    return x


def parse_stray(value: Any, name: str) -> float:
    """A stray-light fraction (bare or ``%``) in [0, 1)."""
    try:
        x = parse_number(value, name)
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
    if not (math.isfinite(x) and 0 <= x < 1):
        raise BenchConfigError(f"{name}: got {value!r}; expected a fraction in [0, 1) (or %)")
    return x


def parse_noise(section: Any, name: str = "bench.imperfections.noise") -> dict[str, float]:
    """The values a noise section sets (SI: rad, fraction, e-/s, e-).

    Raises:
        BenchConfigError: an unknown field, a missing unit, a negative rms (one line)."""
    sec = parse_mapping(section, name)
    unknown = set(sec) - set(NOISE_KEYS)
    if unknown:
        raise BenchConfigError(
            f"{name}: unknown {sorted(unknown, key=str)}; allowed: {', '.join(NOISE_KEYS)}"
        )
    out = {}
    for key, value in sec.items():
        field = f"{name}.{key}"
        if key == "flicker":
            out[key] = 0.0 if value == 0 else parse_angle(value, field)
        elif key == "stray_light":
            out[key] = parse_stray(value, field)
        else:
            out[key] = parse_electrons(value, CAMERA_NOISE[key], field)
    return out
