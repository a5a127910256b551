"""Device interface: SLMs, cameras, simulated devices, hardware adapters and the Bench.

Light imports only here; see :mod:`devices.simulated` (simulated devices and bench),
:mod:`devices.bench_config` (bench YAMLs, driver registry) and
:mod:`devices.slmsuite_adapter` (real hardware, extra ``hardware``).
"""

from devices.base import SLM, Camera
from devices.errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)

__all__ = [
    "SLM",
    "Camera",
    "DeviceBusy",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceTimeout",
    "InvalidPattern",
    "InvalidSetting",
]
