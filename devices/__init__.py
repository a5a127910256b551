"""Device interface: SLMs, cameras, simulated devices, hardware adapters and the Bench.

Light imports only here; see :mod:`devices.simulated` (simulated devices and bench),
:mod:`devices.config.bench_config` (bench YAMLs, driver registry) and
:mod:`devices.hardware.slmsuite_adapter` (real hardware, extra ``hardware``).
"""

from devices.interface.base import SLM, Camera
from devices.interface.errors import (
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
