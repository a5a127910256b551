"""Template for a new driver: copy this file, rename the classes, fill in the ``_..._hw`` hooks.

The base classes in :mod:`devices.base` already validate every input (shape, dtype, range, NaN,
exposure limits, timeouts), convert frames to the camera's true bit depth and turn driver
failures into :class:`~devices.errors.DeviceError` messages that name the device. A driver only
talks to its hardware. What each hook receives and must return:

SLM
    ``_display_hw(levels)``: ``levels`` is a C-contiguous ``(H, W)`` array of ``uint8`` (up to
    8 bits) or ``uint16`` gray levels already checked against ``0 .. 2**bit_depth - 1``.
    Send it to the device and return when it is shown (wait for the liquid crystal to settle
    if the vendor SDK does not).
    ``_close_hw()``: release the SDK handle. Called at most once.

Camera
    ``_capture_hw(n_frames, timeout)``: return ``(n_frames, H, W)`` integer frames. Raise
    :class:`~devices.errors.DeviceTimeout` (or plain ``TimeoutError``) if they do not arrive
    within ``timeout`` seconds. If the SDK hands out 12-bit samples left-justified in 16-bit
    words, pass ``msb_aligned=True`` to ``Camera.__init__`` instead of shifting here.
    ``_get_exposure_hw()`` / ``_set_exposure_hw(seconds)``: seconds, already inside
    ``exposure_limits``. Report what the hardware realized (it may round).
    ``_recover_hw()``: abort a stuck acquisition so the next capture works.
    ``_close_hw()``: stop acquisition and release the handle.

Register the driver for bench YAMLs with :func:`devices.bench_config.register_driver` (or use
``driver: slmsuite:<ClassName>`` for anything slmsuite already supports).
"""

from __future__ import annotations

import numpy as np

from devices.base import SLM, Camera
from devices.errors import DeviceTimeout


class TemplateSLM(SLM):
    """A do-nothing SLM driver showing the hooks. Replace ``self._sdk`` with the vendor SDK."""

    def __init__(
        self, shape=(1080, 1920), pitch=8e-6, bit_depth=8, modulation="phase", name=None
    ) -> None:
        super().__init__(shape, pitch, bit_depth=bit_depth, modulation=modulation, name=name)
        self._sdk_frame: np.ndarray | None = None  # e.g. self._sdk = vendor.open(serial)

    def _display_hw(self, levels: np.ndarray) -> None:
        self._sdk_frame = levels.copy()  # e.g. self._sdk.write(levels); self._sdk.wait()

    def _close_hw(self) -> None:
        self._sdk_frame = None  # e.g. self._sdk.close()


class TemplateCamera(Camera):
    """A camera driver returning dark frames, showing the hooks."""

    def __init__(self, shape=(1024, 1280), pitch=4.8e-6, bit_depth=12, name=None) -> None:
        super().__init__(shape, pitch, bit_depth=bit_depth, exposure_limits=(2e-5, 1.0), name=name)
        self._exposure = 1e-3  # e.g. self._sdk = vendor.open(serial)

    def _capture_hw(self, n_frames: int, timeout: float) -> np.ndarray:
        if self._exposure > timeout:  # e.g. frames = self._sdk.grab(n_frames, timeout)
            raise DeviceTimeout(self.label, f"exposure {self._exposure} s exceeds {timeout} s")
        return np.zeros((n_frames, *self.shape), dtype=self.dtype)

    def _get_exposure_hw(self) -> float:
        return self._exposure

    def _set_exposure_hw(self, seconds: float) -> None:
        self._exposure = seconds  # e.g. self._sdk.exposure_us = round(seconds * 1e6)

    def _recover_hw(self) -> None:
        pass  # e.g. self._sdk.abort_acquisition()

    def _close_hw(self) -> None:
        pass  # e.g. self._sdk.close()
