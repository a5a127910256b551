"""The bench YAML's ``shutter`` key: how a calibration blocks the light for dark frames.

::

    shutter: auto        # default: the bench's laser_on attribute (a simulated laser, or a
                         # driver that offers it: a shutter or the laser's enable line)
    shutter: manual      # the user blocks and unblocks the beam by hand when asked (calibrate
                         # prompts on the terminal; a SimulatedBench answers itself)
    shutter: steer       # no shutter at all: a steep blazed grating on the Fourier SLM steers
                         # the light off the sensor (the zero order stays; calibrate measures
                         # how dark that is and refuses when it is not dark enough)
    shutter: {driver: "mypkg.shutters:Thorlabs", args: {port: COM3}}
                         # a class with block() and unblock() methods (and optionally close())
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from devices.config.fields import BenchConfigError

MODES = ("auto", "manual", "steer")


@dataclass(frozen=True)
class ShutterConfig:
    """How dark frames are made.

    Attributes:
        mode: "auto", "manual", "steer" or "driver".
        device: for "driver", the object whose ``block()`` / ``unblock()`` close and open it.
        source: the YAML value, for messages.
    """

    mode: str = "auto"
    device: Any = None
    source: Any = field(default="auto", compare=False)


def parse_shutter(value: Any, name: str = "bench.shutter") -> ShutterConfig:
    """The ``shutter`` field (None: ``auto``).

    Raises:
        BenchConfigError: an unknown mode, a bad driver string, or a driver class without
            ``block`` and ``unblock`` methods, naming the field and what is allowed.
    """
    if value is None:
        return ShutterConfig()
    if isinstance(value, str):
        if value not in MODES:
            raise BenchConfigError(
                f"{name}: got {value!r}; allowed: {', '.join(MODES)} or {{driver: 'module:Class'}}"
            )
        return ShutterConfig(mode=value, source=value)
    if not isinstance(value, dict):
        raise BenchConfigError(
            f"{name}: got {value!r}; allowed: {', '.join(MODES)} or {{driver: 'module:Class'}}"
        )
    unknown = set(value) - {"driver", "args"}
    if unknown or "driver" not in value:
        raise BenchConfigError(
            f"{name}: got keys {sorted(value, key=str)}; a shutter driver takes 'driver' "
            "('module:Class') and optional 'args'"
        )
    spec, args = value["driver"], value.get("args") or {}
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise BenchConfigError(f"{name}.driver: got {spec!r}; expected 'package.module:Class'")
    if not isinstance(args, dict):
        raise BenchConfigError(f"{name}.args: got {args!r}; expected a mapping of keywords")
    module, cls_name = spec.split(":")
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError) as exc:
        raise BenchConfigError(f"{name}.driver: cannot import {spec!r} ({exc})") from exc
    if not all(callable(getattr(cls, m, None)) for m in ("block", "unblock")):
        raise BenchConfigError(
            f"{name}.driver: {spec!r} has no block() and unblock() methods; a shutter driver "
            "needs both"
        )
    try:
        device = cls(**args)
    except Exception as exc:  # a driver's own failure to open, reported on one line
        raise BenchConfigError(f"{name}.driver: {spec!r} failed to open ({exc})") from exc
    return ShutterConfig(mode="driver", device=device, source=value)
