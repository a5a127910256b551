"""A bench YAML's time-dependent fields: ``imperfections: drift:``, the rates the hidden
imperfections drift at with the bench's clock (:mod:`devices.simulated.drift`), and
``laser: rin:``, the laser's relative intensity noise per exposure
(:mod:`devices.simulated.temporal`).

::

    imperfections:
      drift:
        camera_shift: 0.5 px/h       # camera image, pixels per time, along a seeded direction
        camera_rotation: 0.01 deg/h  # deg, mrad or rad per time
        fourier_decentre: 0.3 px/h   # Fourier SLM off the axis, its pixels per time
        focal: 1e-3/h                # fractional focal error per lens per time (or %/h)
        laser_power: 2 %/h           # fractional laser power per time
        walk: 0.2                    # random walk rms after 1 h / the linear drift in 1 h

Every rate needs its time unit (``/s``, ``/min``, ``/h``); 0 may be bare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from devices.config.fields import BenchConfigError, parse_mapping, parse_number
from devices.simulated.drift import DriftRates
from fouroptics.units import UnitError, parse_rate

#: each rate's allowed units (before the "/time") and their factor to SI
DRIFT_UNITS: dict[str, dict[str, float]] = {
    "camera_shift": {"px": 1.0},
    "camera_rotation": {"deg": math.pi / 180, "mrad": 1e-3, "rad": 1.0},
    "fourier_decentre": {"px": 1.0},
    "focal": {"": 1.0, "%": 1e-2},
    "laser_power": {"": 1.0, "%": 1e-2},
}


def parse_drift(section: Any, name: str = "bench.imperfections.drift") -> DriftRates | None:
    """The :class:`DriftRates` of a drift section (None: no section, or every rate 0).

    Raises:
        BenchConfigError: an unknown field, a rate without a time unit or with another unit,
            a negative rate or walk (one line naming the field).
    """
    sec = parse_mapping(section, name)
    allowed = {*DRIFT_UNITS, "walk"}
    unknown = set(sec) - allowed
    if unknown:
        raise BenchConfigError(
            f"{name}: unknown {sorted(unknown, key=str)}; allowed: {', '.join(sorted(allowed))}"
        )
    try:
        rates = {k: parse_rate(v, DRIFT_UNITS[k], f"{name}.{k}") for k, v in sec.items()
                 if k != "walk"}  # fmt: skip
        walk = parse_number(sec.get("walk", 0.0), f"{name}.walk")
    except UnitError as exc:
        raise BenchConfigError(str(exc)) from exc
    if not (math.isfinite(walk) and walk >= 0):
        raise BenchConfigError(f"{name}.walk: got {sec.get('walk')!r}; expected a fraction >= 0")
    out = DriftRates(**rates, walk=walk)
    return out if out.any else None


def bench_drift(
    imp: dict[str, Any], rng: Any, cfg: dict[str, Any]
) -> tuple[Any, tuple[float, float]]:
    """A simulated bench's :class:`~devices.simulated.drift.Drift` (None without drift), drawn
    from the imperfections' generator ``rng`` after every other draw, and its SLMs' refresh
    rates (Hz: a section's ``frame_rate``, else its bundled profile's, else
    :data:`devices.config.rates.DEFAULT_RATES`)."""
    from devices.config.profile import load_profile
    from devices.config.rates import DEFAULT_RATES
    from devices.simulated.drift import Drift
    from fouroptics.units import parse_quantity

    rates = parse_drift(imp.get("drift"))
    refresh = []
    for role in ("input_slm", "fourier_slm"):
        sec = cfg.get(role) if isinstance(cfg.get(role), dict) else {}
        rate = sec.get("frame_rate")
        if rate is None and isinstance(sec.get("profile"), str):
            try:  # a bundled profile (a profile by relative path: the assumed rate)
                rate = load_profile(sec["profile"]).get("frame_rate")
            except BenchConfigError:
                rate = None
        hz = DEFAULT_RATES[role] if rate is None else rate
        refresh.append(parse_quantity(hz, "frequency", f"bench.{role}.frame_rate"))
    return (None if rates is None else Drift(rates, rng)), (refresh[0], refresh[1])


def laser_rin(value: Any, rng: Any) -> Any:
    """``laser.rin`` (rms relative power per exposure: ``0.2 %`` or 0.002) as a
    :class:`~devices.simulated.temporal.LaserNoise` seeded from ``rng`` after every other
    draw, or None (0)."""
    from devices.simulated.temporal import LaserNoise

    rin = parse_number(value, "bench.laser.rin")
    if not (math.isfinite(rin) and rin >= 0):
        raise BenchConfigError(f"bench.laser.rin: got {value!r}; expected an rms fraction >= 0")
    if rin == 0:
        return None
    return LaserNoise(rin, np.random.default_rng(rng.integers(2**63)))
