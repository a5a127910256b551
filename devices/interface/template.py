"""Template for a new driver: copy this file, rename the classes, fill in the ``_..._hw`` hooks.

The base classes :class:`~devices.interface.slm.SLM` and :class:`~devices.interface.camera.Camera`
already validate every input (shape, dtype, range, NaN, exposure limits, timeouts), convert
frames to the camera's true bit depth, run each hook in the device's worker thread with a
deadline (a hook that blocks forever cannot hang the caller) and turn whatever a hook raises
into a :class:`~devices.interface.errors.DeviceError` kind naming the device and the action:
``ConnectionError`` or an ``OSError`` with ``ENODEV``/``EPIPE``/``ECONNRESET``... becomes
:class:`~devices.interface.errors.DeviceDisconnected`, ``TimeoutError``
:class:`~devices.interface.errors.DeviceTimeout`, anything else a plain ``DeviceError``. So a
hook just calls its SDK and lets the SDK's exceptions out. What each hook receives and must return:

SLM
    ``_display_hw(levels)``: ``levels`` is a C-contiguous ``(H, W)`` array of ``uint8`` (up to
    8 bits) or ``uint16`` gray levels already checked against ``0 .. 2**bit_depth - 1``.
    Send it to the device and return when it is shown (wait for the liquid crystal to settle
    if the vendor SDK does not). Waited on for ``hook_timeout`` seconds (10 s by default).

Camera
    ``_capture_hw(n_frames, timeout)``: return ``(n_frames, H, W)`` integer frames. Raise
    :class:`~devices.interface.errors.DeviceTimeout` (or plain ``TimeoutError``) if they do not
    arrive within ``timeout`` seconds. If it has not returned by
    ``Camera.capture_deadline(timeout)`` the caller gives up, calls ``_abort_hw`` and discards
    the late frames. If the SDK hands out 12-bit samples left-justified in 16-bit words, pass
    ``msb_aligned=True`` to ``Camera.__init__`` instead of shifting here.
    ``_get_exposure_hw()`` / ``_set_exposure_hw(seconds)``: seconds, already inside
    ``exposure_limits``. Report what the hardware realized (it may round).

Both
    ``_abort_hw()``: stop an operation in progress (abort the acquisition). Called from another
    thread while ``_capture_hw`` may still be blocked, after a timeout, a malformed frame or
    Ctrl-C; must be safe to call concurrently. Optional (no-op).
    ``_recover_hw()``: bring the device back to idle after a failure (flush the frame buffer,
    re-synchronize, reconnect); called after a failed capture and by ``recover()``. Optional.
    ``_close_hw()``: stop acquisition and release the handle. If it raises, the device stays
    open and ``close()`` may be retried, so make it safe to call again after a failure.

Threads: hooks run in the device's worker thread, not the thread that constructed the device.
An SDK that must be called from the thread that opened it (some COM/.NET SDKs) sets the class
attribute ``blocking_hooks = False``; its hooks then run in the caller's thread, without the
deadline.

Register the driver for bench YAMLs with :func:`devices.config.register_driver` (or use
``driver: slmsuite:<ClassName>`` for anything slmsuite already supports).
"""

from __future__ import annotations

import numpy as np

from devices.interface import SLM, Camera, DeviceTimeout


class TemplateSLM(SLM):
    """A do-nothing SLM driver showing the hooks. Replace ``self._sdk`` with the vendor SDK."""

    def __init__(
        self, shape=(1080, 1920), pitch=8e-6, bit_depth=8, modulation="phase", name=None
    ) -> None:
        super().__init__(shape, pitch, bit_depth=bit_depth, modulation=modulation, name=name)
        self._sdk_frame: np.ndarray | None = None  # e.g. self._sdk = vendor.open(serial)

    def _display_hw(self, levels: np.ndarray) -> None:
        self._sdk_frame = levels.copy()  # e.g. self._sdk.write(levels); self._sdk.wait()

    def _recover_hw(self) -> None:
        pass  # e.g. self._sdk.reset(); self._sdk.write(self.pattern)

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

    def _abort_hw(self) -> None:
        pass  # e.g. self._sdk.abort_acquisition()  (thread-safe in most SDKs)

    def _recover_hw(self) -> None:
        pass  # e.g. self._sdk.flush_buffers()

    def _close_hw(self) -> None:
        pass  # e.g. self._sdk.close()
