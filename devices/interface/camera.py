"""The camera interface: :class:`Camera` (exposure, capture with deadlines, frame checks)."""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from devices.interface.checks import check_seconds, is_real_number, uint_dtype
from devices.interface.device import PixelDevice
from devices.interface.errors import DeviceError, InvalidSetting

#: the spec-sheet values a camera may state (:attr:`Camera.datasheet`)
DATASHEET_KEYS = ("quantum_efficiency", "gain", "full_well", "black_level")


class Camera(PixelDevice, ABC):
    """An area camera delivering frames in its true bit depth.

    Args:
        shape: ``(rows, columns)`` of pixels.
        pitch: pixel pitch in metres.
        bit_depth: ADC resolution; frames hold ``0 .. 2**bit_depth - 1``.
        exposure_limits: ``(shortest, longest)`` exposure in seconds the device accepts.
        timeout: default seconds to wait for frames before :class:`DeviceTimeout`.
        msb_aligned: the driver returns samples left-justified in 16-bit words (e.g. a 12-bit
            sensor read as ``value << 4``); the base class shifts them back.
        name: label used in messages.
    """

    def __init__(
        self,
        shape: Sequence[int],
        pitch: float,
        bit_depth: int = 8,
        exposure_limits: tuple[float, float] = (1e-6, 10.0),
        timeout: float = 5.0,
        msb_aligned: bool = False,
        name: str | None = None,
        datasheet: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(shape, pitch, bit_depth, name)
        sheet = {}
        for key, value in dict(datasheet or {}).items():
            ok = is_real_number(value) and math.isfinite(float(value))
            if key not in DATASHEET_KEYS or not ok or float(value) < 0:
                raise InvalidSetting(
                    self.label,
                    f"datasheet {key}={value!r}",
                    f"expected finite numbers >= 0 for {', '.join(DATASHEET_KEYS)}",
                )
            sheet[key] = float(value)
        #: the spec sheet's values (what a lab believes before calibrating): any of
        #: ``quantum_efficiency`` (e-/photon), ``gain`` (DN/e-), ``full_well`` (e-),
        #: ``black_level`` (DN). The run prefers a calibration's measured ones.
        self.datasheet: dict[str, float] = sheet
        try:
            lo, hi = (float(v) if is_real_number(v) else math.nan for v in exposure_limits)
        except (TypeError, ValueError):
            lo = hi = math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
            raise InvalidSetting(
                self.label,
                f"exposure_limits {exposure_limits!r}",
                "expected (shortest, longest) seconds with 0 < shortest <= longest",
            )
        self._exposure_limits = (lo, hi)
        self.timeout = timeout
        self.msb_aligned = bool(msb_aligned)

    # -- properties ---------------------------------------------------------------------
    @property
    def max_value(self) -> int:
        """Largest value a frame can hold, ``2**bit_depth - 1`` DN."""
        return (1 << self._bit_depth) - 1

    @property
    def dtype(self) -> np.dtype:
        """dtype of frames (uint8 or uint16)."""
        return uint_dtype(self._bit_depth)

    @property
    def exposure_limits(self) -> tuple[float, float]:
        """``(shortest, longest)`` exposure in seconds."""
        return self._exposure_limits

    @property
    def timeout(self) -> float:
        """Default capture timeout in seconds."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = check_seconds(value, self.label, "timeout")

    @property
    def exposure(self) -> float:
        """Exposure time in seconds, as the device reports it."""
        self._check_open("read the exposure")
        value = self._call_hook("read the exposure", self._get_exposure_hw)
        if not (is_real_number(value) and math.isfinite(value) and value > 0):
            raise DeviceError(
                self.label,
                f"the driver reported an exposure of {value!r}",
                "_get_exposure_hw must return seconds > 0; check the driver",
            )
        return float(value)

    @exposure.setter
    def exposure(self, seconds: float) -> None:
        self.set_exposure(seconds)

    def set_exposure(self, seconds: float) -> float:
        """Set the exposure in seconds; returns the value the device realized.

        Raises:
            InvalidSetting: not a number (bools and strings are refused) or outside
                :attr:`exposure_limits`. Nothing reaches the driver then.
            DeviceError: the driver failed (a kind of it: timeout, lost connection).
        """
        self._check_open("set the exposure")
        value = check_seconds(seconds, self.label, "exposure", self._exposure_limits)
        self._call_hook("set the exposure", self._set_exposure_hw, value)
        return self.exposure

    def describe(self) -> dict[str, Any]:
        """Plain-data summary for reports (SI units); ``exposure`` is None when unreadable."""
        try:
            exposure = None if self._closed else self.exposure
        except DeviceError:
            exposure = None
        return {
            "kind": "camera",
            "class": type(self).__name__,
            "name": self.name,
            "shape": list(self._shape),
            "pitch": self._pitch,
            "bit_depth": self._bit_depth,
            "exposure_limits": list(self._exposure_limits),
            "exposure": exposure,
        }

    # -- capture --------------------------------------------------------------------------
    def capture(
        self, n_frames: int = 1, average: bool = False, timeout: float | None = None
    ) -> np.ndarray:
        """Acquire frames.

        The driver's ``_capture_hw`` runs in the camera's worker thread; the caller waits
        ``timeout`` plus a margin (:meth:`capture_deadline`) even if the driver blocks.

        Args:
            n_frames: number of consecutive frames (>= 1).
            average: return their mean (float64, shape :attr:`shape`) instead of the stack.
            timeout: seconds to wait for all frames (default :attr:`timeout`).

        Returns:
            ``(H, W)`` for one frame, ``(n_frames, H, W)`` otherwise, dtype :attr:`dtype`
            with values in ``[0, max_value]`` DN; or the float64 ``(H, W)`` mean.

        Raises:
            InvalidSetting: a bad ``n_frames`` or ``timeout``.
            DeviceTimeout: no frames in time. The abort hook ran; if the driver returned, the
                recover hook ran too and the camera is usable; if it is still blocked, later
                calls raise :class:`DeviceBusy` until :meth:`recover` or :meth:`close` (a
                late frame is discarded).
            DeviceError: the driver failed or delivered malformed frames (abort and recover
                hooks ran). The camera stays usable.
            DeviceDisconnected: the camera is closed or its connection was lost.
            KeyboardInterrupt: Ctrl-C during the capture, after the abort hook ran.
        """
        self._check_open("capture")
        if not isinstance(n_frames, numbers.Integral) or isinstance(n_frames, bool | np.bool_):
            n_frames_ok = False
        else:
            n_frames_ok = n_frames >= 1
        if not n_frames_ok:
            raise InvalidSetting(
                self.label, f"frame count n_frames={n_frames!r}", "expected an integer >= 1"
            )
        n = int(n_frames)
        wait = self._timeout if timeout is None else check_seconds(timeout, self.label, "timeout")
        try:
            raw = self._call_hook(
                f"capture {n} frame(s)",
                self._capture_hw,
                n,
                wait,
                deadline=self.capture_deadline(wait),
                late=f"no frame within {wait:g} s (the driver did not return)",
            )
            frames = self._check_frames(raw, n)
        except BaseException as exc:
            self._after_failed_capture(exc)
            raise
        if average:
            return frames.mean(axis=0, dtype=np.float64)
        return frames[0] if n == 1 else frames

    @staticmethod
    def capture_deadline(timeout: float) -> float:
        """Seconds the caller waits for ``_capture_hw`` given its ``timeout``: a margin of
        ``0.05 s + 10 %`` lets a driver that honours its timeout report it itself."""
        return timeout * 1.1 + 0.05

    def _after_failed_capture(self, exc: BaseException) -> None:
        """Abort the acquisition, then (if the driver is free) recover; problems become notes
        on ``exc``, which the caller re-raises."""
        notes = []
        problem = self._abort()
        if problem:
            notes.append(problem)
        runner = self._runner
        if (
            runner is not None
            and runner.stuck() is not None
            and not runner.wait_idle(min(self._hook_timeout, 1.0))
        ):
            notes.append(
                "the driver is still blocked after the abort; further calls are refused "
                "until recover() or close()"
            )
        elif self._lost is None:
            try:
                self._call_hook("recover after the failed capture", self._recover_hw)
            except DeviceError as err:
                notes.append(f"recovering after it failed too: {err}")
        for note in notes:
            exc.add_note(f"{self.label}: {note}")

    def _check_frames(self, raw: object, n: int) -> np.ndarray:
        """The driver's frames as ``(n, H, W)`` :attr:`dtype`, or DeviceError if malformed."""
        expected = f"({n}, {self._shape[0]}, {self._shape[1]}) integer frames"
        try:
            frames = np.asarray(raw)
        except Exception as exc:  # ragged lists and the like
            raise DeviceError(
                self.label, f"driver returned {type(raw).__name__} ({exc})", f"expected {expected}"
            ) from exc
        if frames.ndim == 2 and n == 1:
            frames = frames[None]
        if frames.shape != (n, *self._shape):
            raise DeviceError(
                self.label,
                f"driver returned frames of shape {frames.shape}",
                f"expected {expected}",
            )
        if frames.dtype.kind not in "ui":
            raise DeviceError(
                self.label, f"driver returned dtype {frames.dtype}", "frames must be integer DN"
            )
        if self.msb_aligned:
            container = frames.dtype.itemsize * 8
            frames = (
                frames >> (container - self._bit_depth) if container > self._bit_depth else frames
            )
        if frames.size:
            lo, hi = int(frames.min()), int(frames.max())
            if lo < 0 or hi > self.max_value:
                hint = (
                    "the driver may deliver samples left-justified in 16-bit words; "
                    "construct the camera with msb_aligned=True"
                    if hi > self.max_value and frames.dtype.itemsize * 8 > self._bit_depth
                    else "check the driver's bit depth"
                )
                raise DeviceError(
                    self.label,
                    f"frame values span [{lo}, {hi}] DN, outside 0..{self.max_value} of a "
                    f"{self._bit_depth}-bit camera",
                    hint,
                )
        return frames.astype(self.dtype, copy=False)

    # -- driver hooks ---------------------------------------------------------------------
    @abstractmethod
    def _capture_hw(self, n_frames: int, timeout: float) -> np.ndarray:
        """Driver hook: return ``(n_frames, H, W)`` integer frames within ``timeout`` seconds.

        Raise :class:`DeviceTimeout` (or ``TimeoutError``) when frames do not arrive in time.
        If it blocks past :meth:`capture_deadline`, the caller gives up, calls ``_abort_hw``
        from another thread, and discards whatever it returns later.
        """

    @abstractmethod
    def _get_exposure_hw(self) -> float:
        """Driver hook: the exposure the device currently uses, in seconds."""

    @abstractmethod
    def _set_exposure_hw(self, seconds: float) -> None:
        """Driver hook: set the exposure (already checked against the limits)."""
