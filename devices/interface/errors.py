"""Device errors: every message names the device, the problem and what to do about it.

``DeviceError`` is the base (a :class:`fouroptics.errors.FouropticsError`, so the CLI prints it
on one line). Its kinds:

* :class:`InvalidPattern`: an SLM pattern was rejected (shape, dtype, range, NaN) before it
  reached the hardware. Also a ``ValueError``.
* :class:`InvalidSetting`: any other value a device refused before the hardware saw it:
  exposure, timeout, frame count, bit depth, shape, pitch, LUT, a simulated scene. Also a
  ``ValueError``.
* :class:`DeviceTimeout`: the device (or its driver) did not answer in time. Also a
  ``TimeoutError``.
* :class:`DeviceDisconnected`: the device is closed, or its connection was lost; reconnect and
  open it again. Also a ``ConnectionError``.
* :class:`DeviceBusy`: an earlier driver call that timed out is still blocked in the driver;
  :meth:`devices.interface.device.Device.recover` or ``close()`` gets past it.
"""

from __future__ import annotations

from fouroptics.errors import FouropticsError


class DeviceError(FouropticsError, RuntimeError):
    """A device refused an operation or failed while doing it.

    Args:
        device: the device's name (e.g. ``"SimulatedCamera 'cam0'"``).
        problem: what went wrong.
        action: what the user can do about it.
    """

    def __init__(self, device: str, problem: str, action: str = "") -> None:
        self.device = device
        self.problem = problem
        self.action = action
        text = f"{device}: {problem}"
        if action:
            text += f"; {action}"
        super().__init__(text)

    def __reduce__(self):  # keep pickling (multiprocessing) working with the 3-arg signature
        return (type(self), (self.device, self.problem, self.action))


class InvalidPattern(DeviceError, ValueError):
    """An SLM pattern was rejected before reaching the hardware."""


class InvalidSetting(DeviceError, ValueError):
    """A device setting (exposure, timeout, frame count, bit depth, ...) was rejected."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer (e.g. deliver a frame) within the allowed time."""


class DeviceDisconnected(DeviceError, ConnectionError):
    """The device is closed or its connection was lost; open it again to continue."""


class DeviceBusy(DeviceError):
    """A driver call that timed out is still blocked; recover() or close() the device."""
