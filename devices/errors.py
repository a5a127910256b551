"""Device errors: every message names the device, the problem and what to do about it.

``DeviceError`` is the base; ``DeviceTimeout`` and ``DeviceDisconnected`` also derive from the
matching builtins (``TimeoutError``, ``ConnectionError``) so generic handlers still catch them.
``InvalidPattern`` is raised for a bad SLM pattern or a bad setting (wrong shape, dtype, range,
NaN); it is also a ``ValueError``.
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
    """An SLM pattern or a device setting was rejected before reaching the hardware."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer (e.g. deliver a frame) within the allowed time."""


class DeviceDisconnected(DeviceError, ConnectionError):
    """The device is closed or its connection was lost; open it again to continue."""
