"""Bench YAML files, device profiles and the driver registry.

:mod:`~devices.config.bench_yaml` (:func:`load_bench`, :func:`declared_slm`) reads a bench YAML
and assembles a Bench or SimulatedBench; :mod:`~devices.config.drivers` builds each device
from its section (``driver: simulated``, ``driver: slmsuite:<Class>`` or a name given to
:func:`register_driver`); :mod:`~devices.config.profile` holds the spec-sheet profiles
(devices/config/profiles/*.yaml) a section starts from; :mod:`~devices.config.fields` parses
and unit-checks the YAML fields, raising :class:`BenchConfigError`.
"""

from devices.config.bench_yaml import declared_slm, load_bench
from devices.config.drivers import DeviceContext, build_device, drivers, register_driver
from devices.config.fields import BenchConfigError
from devices.config.profile import list_profiles, load_profile

__all__ = [
    "BenchConfigError",
    "DeviceContext",
    "build_device",
    "declared_slm",
    "drivers",
    "list_profiles",
    "load_bench",
    "load_profile",
    "register_driver",
]
