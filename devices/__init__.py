"""Devices of a 4f bench, in four wings, and the run path on top of them.

* :mod:`devices.interface`: the SLM and Camera every driver implements (public methods wrapping
  small ``_..._hw`` hooks with deadlines), the Bench, errors, a template driver;
* :mod:`devices.simulated`: simulated SLMs, cameras and the SimulatedBench with hidden truth;
* :mod:`devices.hardware`: adapters to slmsuite's drivers (extra ``hardware``);
* :mod:`devices.config`: bench YAMLs, device profiles, the driver registry, frame rates;
* :mod:`devices.run`: :class:`OpticalModel`, a compiled bundle on a bench with its calibration.

Light imports only: ``OpticalModel``, ``load_bench``, ``Bench`` and ``SimulatedBench`` are loaded
on first use.
"""

from typing import Any

from devices.interface.errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)

_LAZY = {
    "SLM": "devices.interface.slm",
    "Camera": "devices.interface.camera",
    "Bench": "devices.interface.bench",
    "SimulatedBench": "devices.simulated.bench",
    "load_bench": "devices.config.bench_yaml",
    "OpticalModel": "devices.run.model",
    "Evaluation": "devices.run.model",
}

__all__ = [
    "SLM",
    "Bench",
    "Camera",
    "DeviceBusy",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceTimeout",
    "Evaluation",
    "InvalidPattern",
    "InvalidSetting",
    "OpticalModel",
    "SimulatedBench",
    "load_bench",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'devices' has no attribute {name!r}")
