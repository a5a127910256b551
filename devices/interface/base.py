"""The SLM and camera interface that every driver (simulated or real) implements.

Public methods validate their input, then call a small private hook that a driver implements
(``_display_hw``, ``_capture_hw``, ``_set_exposure_hw``, ...), so a new driver is a short file
(see :mod:`devices.interface.template`). Conventions: arrays are ``(rows, columns) = (H, W)``; pitches in
metres; exposures and timeouts in seconds; SLM drive values are integer gray levels in
``[0, 2**bit_depth - 1]``; camera frames are unsigned integers in ``[0, 2**bit_depth - 1]``
(the camera's true bit depth, never left-justified into 16-bit words).
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from devices.interface.errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)
from devices.interface.hooks import HookDeadline, HookRunner, as_device_error, call_once

Modulation = Literal["phase", "amplitude", "binary"]
MODULATIONS: tuple[str, ...] = ("phase", "amplitude", "binary")


def uint_dtype(bit_depth: int) -> np.dtype:
    """Smallest unsigned dtype that holds ``bit_depth`` bits (uint8 up to 8 bits, else uint16)."""
    return np.dtype(np.uint8) if bit_depth <= 8 else np.dtype(np.uint16)


def is_real_number(value: object) -> bool:
    """True for ints and floats (Python or numpy), False for bools, strings, arrays, None."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _check_shape(value: Sequence[int], device: str) -> tuple[int, int]:
    try:
        items = tuple(value)
        ok = len(items) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) for v in items
        )
    except TypeError:
        ok = False
    if not ok or min(int(v) for v in items) < 1:
        raise InvalidSetting(device, f"shape {value!r}", "expected (rows, columns) integers >= 1")
    return (int(items[0]), int(items[1]))


def _check_pitch(value: float, device: str) -> float:
    pitch = float(value) if is_real_number(value) else math.nan
    if not (math.isfinite(pitch) and 0 < pitch < 1e-2):
        raise InvalidSetting(
            device, f"pitch {value!r} m", "expected a pixel pitch in metres in (0, 1 cm)"
        )
    return pitch


def _check_bit_depth(value: int, device: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool | np.bool_):
        ok = False
    else:
        ok = 1 <= int(value) <= 16
    if not ok:
        raise InvalidSetting(device, f"bit_depth {value!r}", "expected an integer from 1 to 16")
    return int(value)


def _check_seconds(
    value: float, device: str, what: str, limits: tuple[float, float] | None = None
) -> float:
    """``value`` as float seconds: finite and > 0, or inside ``limits`` (both ends included).

    Raises:
        InvalidSetting: naming ``what``, the value and what is allowed (bools and strings are
            not numbers).
    """
    t = float(value) if is_real_number(value) else math.nan
    if limits is None:
        ok, allowed = t > 0, "a number of seconds > 0"
    else:
        ok, allowed = limits[0] <= t <= limits[1], f"a value in [{limits[0]:g}, {limits[1]:g}] s"
    if not (math.isfinite(t) and ok):
        raise InvalidSetting(device, f"{what} {value!r} s is not allowed", f"choose {allowed}")
    return t


class ClosesOnExit:
    """Context manager for anything with ``close()`` and a ``label``: closes on exit; when an
    error is already on its way, a failing close is added to it as a note instead of
    replacing it."""

    label: str

    def close(self) -> None:  # pragma: no cover - provided by the subclass
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except Exception as close_exc:
            exc.add_note(f"closing {self.label} failed too: {close_exc}")


class Device(ClosesOnExit):
    """Common life cycle: a name, ``close()`` (harmless twice), ``recover()``, context manager.

    Driver hooks (``_..._hw``) run in one worker thread per device, started on first use and
    reused, and the caller waits for them with a deadline: :attr:`hook_timeout` seconds for
    settings, display, recover and close; the capture timeout (plus a margin) for frames. A
    call that outlives its deadline raises :class:`DeviceTimeout`; it is abandoned (what it
    returns later is discarded) and, while it stays blocked in the driver, other calls are
    refused with :class:`DeviceBusy` until :meth:`recover` or :meth:`close`. Whatever a hook
    raises comes out as a :class:`DeviceError` kind naming the device and the action, chained
    to the original; a lost connection is :class:`DeviceDisconnected` and further calls are
    refused until :meth:`recover` succeeds. Drivers whose hooks only compute and never block
    (simulated devices) set the class attribute ``blocking_hooks = False``: their hooks run in
    the caller's thread.
    """

    blocking_hooks: ClassVar[bool] = True

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._closed = False
        self._lost: str | None = None  # the action during which the connection was lost
        self._hook_timeout = 10.0
        self._runner: HookRunner | None = None

    @property
    def label(self) -> str:
        """How errors name this device: class and name."""
        cls = type(self).__name__
        return cls if self.name == cls else f"{cls} {self.name!r}"

    @property
    def closed(self) -> bool:
        """True once the driver released the device (:meth:`close` succeeded)."""
        return self._closed or self._closed_late()

    @property
    def hook_timeout(self) -> float:
        """Seconds to wait for a driver hook other than capture (display, exposure, close...)."""
        return self._hook_timeout

    @hook_timeout.setter
    def hook_timeout(self, seconds: float) -> None:
        self._hook_timeout = _check_seconds(seconds, self.label, "hook_timeout")

    def close(self) -> None:
        """Release the device. Calling it again does nothing.

        A driver call still blocked after a timeout is aborted first (and left behind).

        Raises:
            DeviceError: the driver failed to release the device (a kind of it: timeout, lost
                connection). The device then stays open (:attr:`closed` is False) and
                ``close()`` can be retried.
        """
        if self._closed or self._closed_late():
            return
        runner = self._runner
        if runner is not None and runner.stuck():
            self._abort()
            if not runner.wait_idle(min(self._hook_timeout, 1.0)):
                runner.replace_worker()
        self._call_hook("close the device", self._close_hw)
        self._mark_closed()

    def _mark_closed(self) -> None:
        self._closed = True
        if self._runner is not None:
            self._runner.stop()
            self._runner = None

    def _closed_late(self) -> bool:
        """A close that timed out but then returned normally did release the device."""
        runner = self._runner
        if runner is not None and runner.finished_late("close the device"):
            self._mark_closed()
            return True
        return False

    def recover(self) -> None:
        """Bring the device back after a failure (timeout, driver error, lost connection).

        Aborts a driver call still blocked after a timeout (its thread is left behind if the
        abort does not release it within :attr:`hook_timeout`; its result is discarded), then
        runs the driver's ``_recover_hw`` (flush, re-synchronize, reconnect). When that
        succeeds the device accepts calls again.

        Raises:
            DeviceDisconnected: the device is closed.
            DeviceError: ``_recover_hw`` failed; the device stays as it was.
        """
        if self._closed or self._closed_late():
            self._check_open("recover")
        runner = self._runner
        if runner is not None and runner.stuck():
            self._abort()
            if not runner.wait_idle(min(self._hook_timeout, 1.0)):
                runner.replace_worker()
        self._call_hook("recover", self._recover_hw)
        self._lost = None

    # -- driver hooks -----------------------------------------------------------------------
    def _close_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: release the hardware (called until it succeeds once)."""

    def _recover_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: bring the device back to idle after a failure (flush, re-sync)."""

    def _abort_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: stop an operation in progress (e.g. abort an acquisition).

        Runs in another thread than the blocked hook, while that hook may still be running:
        it must be safe to call concurrently (most SDKs' abort/stop calls are).
        """

    # -- running hooks ----------------------------------------------------------------------
    def _worker(self) -> HookRunner:
        if self._runner is None:
            self._runner = HookRunner(self.label, owner=self)
        return self._runner

    def _call_hook(
        self,
        action: str,
        hook: Callable[..., Any],
        *args: Any,
        deadline: float | None = None,
        late: str | None = None,
    ) -> Any:
        """Run a driver hook and return its result.

        Args:
            action: what the hook does, for messages ("display a pattern").
            hook, args: the bound hook and its arguments.
            deadline: seconds to wait (default :attr:`hook_timeout`).
            late: the problem text when the deadline passes (default: a generic one).

        Raises:
            DeviceError: the hook's failure as its DeviceError kind, chained to it.
        """
        deadline = self._hook_timeout if deadline is None else deadline
        try:
            if not self.blocking_hooks:
                return hook(*args)
            return self._worker().call(hook, args, deadline, action)
        except HookDeadline:
            raise DeviceTimeout(
                self.label,
                late or f"the driver did not {action} within {deadline:.3g} s",
                "it may still be blocked: call recover(), or close() and open a new instance",
            ) from None
        except Exception as exc:
            err = as_device_error(exc, self.label, action)
            if isinstance(err, DeviceDisconnected):
                self._lost = action
            if err is exc:
                raise
            raise err from exc

    def _abort(self) -> str | None:
        """Call ``_abort_hw`` (in its own thread, :attr:`hook_timeout` at most); returns what
        went wrong, or None. Never raises an Exception: the caller has an error to report."""
        try:
            if self.blocking_hooks:
                call_once(self._abort_hw, self._hook_timeout, f"abort {self.label}")
            else:
                self._abort_hw()
        except HookDeadline:
            return f"the abort hook did not return within {self._hook_timeout:.3g} s"
        except Exception as exc:
            return f"the abort hook failed too ({exc!r})"
        return None

    def _check_open(self, action: str) -> None:
        if self._closed or self._closed_late():
            raise DeviceDisconnected(
                self.label,
                f"cannot {action}: the device is closed",
                "open a new instance to use it again",
            )
        if self._lost is not None:
            raise DeviceDisconnected(
                self.label,
                f"cannot {action}: the connection was lost while trying to {self._lost}",
                "reconnect the device, then call recover() or close() it and open a new instance",
            )
        stuck = None if self._runner is None else self._runner.stuck()
        if stuck is not None:
            raise DeviceBusy(
                self.label,
                f"cannot {action}: an earlier driver call is still blocked: {stuck}",
                "call recover(), or close() the device and open a new instance",
            )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_runner"] = None  # threads do not pickle; a copy starts its own
        return state

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self.label} {state}>"


class PixelDevice(Device):
    """A device with a pixel array: shape, pitch and bit depth, validated once here."""

    def __init__(
        self, shape: Sequence[int], pitch: float, bit_depth: int, name: str | None = None
    ) -> None:
        super().__init__(name)
        self._shape = _check_shape(shape, self.label)
        self._pitch = _check_pitch(pitch, self.label)
        self._bit_depth = _check_bit_depth(bit_depth, self.label)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of pixels."""
        return self._shape

    @property
    def pitch(self) -> float:
        """Pixel pitch in metres."""
        return self._pitch

    @property
    def bit_depth(self) -> int:
        """Bits per value: the SLM's drive resolution, the camera's true ADC resolution."""
        return self._bit_depth


class SLM(PixelDevice, ABC):
    """A spatial light modulator driven with integer gray levels.

    Args:
        shape: ``(rows, columns)`` of pixels.
        pitch: pixel pitch in metres.
        bit_depth: drive resolution; gray levels are ``0 .. 2**bit_depth - 1``. A ``binary``
            modulator (DMD) has ``bit_depth == 1``.
        modulation: ``"phase"``, ``"amplitude"`` or ``"binary"``.
        lut: optional lookup table, shape ``(2**bit_depth,)``: the phase in radians (phase
            mode) or the field amplitude in [0, 1] (amplitude, binary) each gray level
            produces. This is what the lab *believes* (spec sheet or calibration).
        name: label used in messages.
    """

    def __init__(
        self,
        shape: Sequence[int],
        pitch: float,
        bit_depth: int = 8,
        modulation: Modulation = "phase",
        lut: np.ndarray | Sequence[float] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(shape, pitch, bit_depth, name)
        if modulation not in MODULATIONS:
            raise InvalidSetting(
                self.label, f"modulation {modulation!r}", f"expected one of {MODULATIONS}"
            )
        if modulation == "binary" and self._bit_depth != 1:
            raise InvalidSetting(
                self.label,
                f"bit_depth {self._bit_depth} for a binary modulator",
                "a binary modulator has bit_depth 1",
            )
        self._modulation: str = modulation
        self._lut: np.ndarray | None = None
        if lut is not None:
            self.lut = lut
        self._pattern = np.zeros(self._shape, dtype=self.dtype)

    # -- properties ---------------------------------------------------------------------
    @property
    def levels(self) -> int:
        """Number of gray levels, ``2**bit_depth``."""
        return 1 << self._bit_depth

    @property
    def modulation(self) -> str:
        """``"phase"``, ``"amplitude"`` or ``"binary"``."""
        return self._modulation

    @property
    def dtype(self) -> np.dtype:
        """dtype of the gray levels passed to the driver (uint8 or uint16)."""
        return uint_dtype(self._bit_depth)

    @property
    def lut(self) -> np.ndarray | None:
        """Believed response per gray level, shape ``(levels,)`` (radians or amplitude)."""
        return None if self._lut is None else self._lut.copy()

    @lut.setter
    def lut(self, value: np.ndarray | Sequence[float] | None) -> None:
        if value is None:
            self._lut = None
            return
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSetting(
                self.label, f"lut is not an array of numbers ({exc})", "pass one float per level"
            ) from exc
        if arr.shape != (self.levels,):
            raise InvalidSetting(
                self.label,
                f"lut has shape {arr.shape}",
                f"expected ({self.levels},), one entry per gray level of a "
                f"{self._bit_depth}-bit SLM",
            )
        if not np.all(np.isfinite(arr)):
            raise InvalidSetting(
                self.label, "lut contains NaN or inf", "every entry must be finite"
            )
        if self._modulation != "phase" and (arr.min() < 0 or arr.max() > 1):
            raise InvalidSetting(
                self.label,
                f"lut amplitudes span [{arr.min():.3g}, {arr.max():.3g}]",
                "amplitudes must lie in [0, 1]",
            )
        self._lut = arr

    @property
    def pattern(self) -> np.ndarray:
        """Copy of the gray levels last displayed, shape :attr:`shape`."""
        return self._pattern.copy()

    def describe(self) -> dict[str, Any]:
        """Plain-data summary for reports (SI units)."""
        return {
            "kind": "slm",
            "class": type(self).__name__,
            "name": self.name,
            "shape": list(self._shape),
            "pitch": self._pitch,
            "bit_depth": self._bit_depth,
            "modulation": self._modulation,
        }

    # -- public operations --------------------------------------------------------------
    def display(self, values: np.ndarray | Sequence[Sequence[float]]) -> None:
        """Show a pattern of gray levels.

        Args:
            values: shape :attr:`shape`; integers (or whole-valued floats, or booleans) in
                ``[0, levels - 1]``.

        Raises:
            InvalidPattern: wrong shape, non-numeric or complex dtype, NaN/inf, fractional
                values or values out of range. Nothing is sent to the device then.
            DeviceDisconnected: the SLM is closed or its connection was lost.
            DeviceError: the driver failed (a kind of it: timeout, busy); :attr:`pattern`
                then keeps the last pattern the driver accepted.
        """
        self._check_open("display a pattern")
        levels = self.validate(values)
        self._call_hook("display a pattern", self._display_hw, levels)
        self._pattern = levels

    def validate(self, values: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Check a pattern as :meth:`display` does and return it as :attr:`dtype` gray levels."""
        try:
            arr = np.asarray(values)
        except Exception as exc:  # ragged lists and the like
            raise InvalidPattern(
                self.label,
                f"cannot read the pattern as an array ({exc})",
                f"pass a {self._shape} array of gray levels",
            ) from exc
        if arr.shape != self._shape:
            raise InvalidPattern(
                self.label,
                f"pattern has shape {arr.shape}",
                f"expected {self._shape} (rows, columns), the SLM's pixel grid",
            )
        kind = arr.dtype.kind
        top = self.levels - 1
        if kind == "c":
            raise InvalidPattern(
                self.label,
                "got a complex pattern",
                "display() takes gray levels; encode a complex mask into gray levels first",
            )
        if kind not in "biuf":
            raise InvalidPattern(
                self.label, f"got dtype {arr.dtype}", f"expected integer gray levels 0..{top}"
            )
        if kind == "f":
            bad = ~np.isfinite(arr)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise InvalidPattern(
                    self.label,
                    f"pattern has {int(bad.sum())} NaN/inf values (first at {first})",
                    f"every pixel needs a gray level 0..{top}",
                )
            if np.any(arr != np.round(arr)):
                raise InvalidPattern(
                    self.label,
                    "pattern has fractional gray levels",
                    f"round them or pass integers 0..{top}",
                )
        if arr.size and kind != "b":
            lo, hi = arr.min(), arr.max()
            if lo < 0 or hi > top:
                raise InvalidPattern(
                    self.label,
                    f"gray levels span [{lo}, {hi}]",
                    f"a {self._bit_depth}-bit SLM accepts 0..{top}",
                )
        return np.ascontiguousarray(arr, dtype=self.dtype)

    def levels_for(self, target: np.ndarray, clip: bool = False) -> np.ndarray:
        """Gray levels whose :attr:`lut` entry is nearest to ``target``.

        Args:
            target: phases in radians (phase mode, compared modulo 2 pi, so any finite phase
                is inside the range) or amplitudes.
            clip: amplitudes outside the LUT's ``[min, max]`` are refused unless ``clip`` is
                True; then they take the nearest end's level.

        Returns:
            gray levels, same shape as ``target``, dtype :attr:`dtype`.

        Raises:
            InvalidPattern: a non-numeric or complex target, NaN/inf values (with their
                count), or amplitudes outside the LUT's range without ``clip``.
        """
        lut = self._lut
        if lut is None:
            top = self.levels - 1
            if self._modulation == "phase":
                lut = np.arange(self.levels) * (2 * np.pi / self.levels)
            else:
                lut = np.arange(self.levels) / max(top, 1)
        arr = np.asarray(target)
        if arr.dtype.kind not in "biuf":
            raise InvalidPattern(
                self.label,
                f"target of dtype {arr.dtype}",
                "expected real phases (radians) or amplitudes",
            )
        arr = arr.astype(np.float64, copy=False)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidPattern(
                self.label,
                f"target has {int(bad.sum())} NaN/inf values out of {arr.size}",
                "every pixel needs a finite phase (radians) or amplitude",
            )
        circular = self._modulation == "phase"
        if not circular and arr.size and not clip:
            lo, hi = float(lut.min()), float(lut.max())
            tol = 1e-9 * max(1.0, hi - lo)
            outside = (arr < lo - tol) | (arr > hi + tol)
            if outside.any():
                raise InvalidPattern(
                    self.label,
                    f"{int(outside.sum())} target amplitudes lie outside the LUT's range "
                    f"[{lo:.4g}, {hi:.4g}] (they span [{arr.min():.4g}, {arr.max():.4g}])",
                    "rescale the target, or pass clip=True to use the nearest end",
                )
        return nearest_levels(lut, arr, circular=circular).astype(self.dtype)

    def display_values(self, target: np.ndarray, clip: bool = False) -> None:
        """Display the gray levels nearest to a target phase (radians) or amplitude map.

        Refuses NaN/inf targets and amplitudes outside the LUT's range unless ``clip`` is True
        (see :meth:`levels_for`).
        """
        self.display(self.levels_for(target, clip=clip))

    # -- driver hook ----------------------------------------------------------------------
    @abstractmethod
    def _display_hw(self, levels: np.ndarray) -> None:
        """Driver hook: send validated gray levels (shape :attr:`shape`, :attr:`dtype`)."""


def nearest_levels(lut: np.ndarray, target: np.ndarray, circular: bool) -> np.ndarray:
    """Index of the ``lut`` entry nearest each ``target`` value (modulo 2 pi if ``circular``).

    Vectorized: sorts the LUT once, then binary search; O(N log L) for N targets.
    """
    lut = np.asarray(lut, dtype=np.float64)
    values = np.mod(lut, 2 * np.pi) if circular else lut
    order = np.argsort(values, kind="stable")
    srt = values[order]
    t = np.mod(target, 2 * np.pi) if circular else target
    if circular:  # extend by one wrapped copy either side
        srt = np.concatenate([srt[-1:] - 2 * np.pi, srt, srt[:1] + 2 * np.pi])
        order = np.concatenate([order[-1:], order, order[:1]])
    idx = np.clip(np.searchsorted(srt, t), 1, len(srt) - 1)
    left, right = srt[idx - 1], srt[idx]
    pick = np.where(np.abs(t - left) <= np.abs(right - t), idx - 1, idx)
    return order[pick]


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
    ) -> None:
        super().__init__(shape, pitch, bit_depth, name)
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
        self._timeout = _check_seconds(value, self.label, "timeout")

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
        value = _check_seconds(seconds, self.label, "exposure", self._exposure_limits)
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
        wait = self._timeout if timeout is None else _check_seconds(timeout, self.label, "timeout")
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
