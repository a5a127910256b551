"""The interface every driver implements, simulated or real.

:class:`SLM` and :class:`Camera` (:mod:`~devices.interface.slm`,
:mod:`~devices.interface.camera`) validate every input, then call a small driver hook;
:class:`Device` and :class:`PixelDevice` (:mod:`~devices.interface.device`) give them their life
cycle (close, recover, hooks run with deadlines by :mod:`~devices.interface.hooks`);
:mod:`~devices.interface.checks` holds the shared validators; :class:`Bench`
(:mod:`~devices.interface.bench`) groups the devices of one 4f correlator with its optics;
:mod:`~devices.interface.errors` defines the :class:`DeviceError` kinds; and
:mod:`~devices.interface.template` is the template for a new driver.
"""

from devices.interface.bench import Bench
from devices.interface.camera import Camera
from devices.interface.device import ClosesOnExit, Device, PixelDevice
from devices.interface.errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)
from devices.interface.slm import SLM, Modulation

__all__ = [
    "SLM",
    "Bench",
    "Camera",
    "ClosesOnExit",
    "Device",
    "DeviceBusy",
    "DeviceDisconnected",
    "DeviceError",
    "DeviceTimeout",
    "InvalidPattern",
    "InvalidSetting",
    "Modulation",
    "PixelDevice",
]
