"""The SLM and camera interface that every driver (simulated or real) implements.

Public methods validate their input, then call a small private hook that a driver implements
(``_display_hw``, ``_capture_hw``, ``_set_exposure_hw``, ...), so a new driver is a short file
(see :mod:`devices.template`). Conventions: arrays are ``(rows, columns) = (H, W)``; pitches in
metres; exposures and timeouts in seconds; SLM drive values are integer gray levels in
``[0, 2**bit_depth - 1]``; camera frames are unsigned integers in ``[0, 2**bit_depth - 1]``
(the camera's true bit depth, never left-justified into 16-bit words).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout, InvalidPattern

Modulation = Literal["phase", "amplitude", "binary"]
MODULATIONS: tuple[str, ...] = ("phase", "amplitude", "binary")


def uint_dtype(bit_depth: int) -> np.dtype:
    """Smallest unsigned dtype that holds ``bit_depth`` bits (uint8 up to 8 bits, else uint16)."""
    return np.dtype(np.uint8) if bit_depth <= 8 else np.dtype(np.uint16)


def _check_shape(value: Sequence[int], what: str) -> tuple[int, int]:
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: got {value!r}; expected (rows, columns) integers") from None
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"{what}: got {value!r}; expected (rows, columns), both >= 1")
    return shape  # type: ignore[return-value]


def _check_pitch(value: float, what: str) -> float:
    pitch = float(value)
    if not (math.isfinite(pitch) and 0 < pitch < 1e-2):
        raise ValueError(f"{what}: got {value!r} m; expected a pixel pitch in metres in (0, 1 cm)")
    return pitch


def _check_bit_depth(value: int, what: str) -> int:
    if isinstance(value, bool) or int(value) != value or not 1 <= int(value) <= 16:
        raise ValueError(f"{what}: got {value!r}; expected an integer from 1 to 16")
    return int(value)


class Device:
    """Common life cycle: a name, ``close()`` (harmless twice) and the context manager."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._closed = False

    @property
    def label(self) -> str:
        """How errors name this device: class and name."""
        cls = type(self).__name__
        return cls if self.name == cls else f"{cls} {self.name!r}"

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Release the device. Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._close_hw()

    def _close_hw(self) -> None:
        """Driver hook: release the hardware (called once)."""

    def _check_open(self, action: str) -> None:
        if self._closed:
            raise DeviceDisconnected(
                self.label,
                f"cannot {action}: the device is closed",
                "open a new instance to use it again",
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self.label} {state}>"


class PixelDevice(Device):
    """A device with a pixel array: shape, pitch and bit depth, validated once here."""

    def __init__(
        self, shape: Sequence[int], pitch: float, bit_depth: int, name: str | None = None
    ) -> None:
        super().__init__(name)
        self._shape = _check_shape(shape, f"{self.label}.shape")
        self._pitch = _check_pitch(pitch, f"{self.label}.pitch")
        self._bit_depth = _check_bit_depth(bit_depth, f"{self.label}.bit_depth")

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
            raise ValueError(
                f"{self.label}.modulation: got {modulation!r}; expected one of {MODULATIONS}"
            )
        if modulation == "binary" and self._bit_depth != 1:
            raise ValueError(
                f"{self.label}: a binary modulator has bit_depth 1, got {self._bit_depth}"
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
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (self.levels,):
            raise ValueError(
                f"{self.label}.lut: got shape {arr.shape}; expected ({self.levels},), one "
                f"entry per gray level of a {self._bit_depth}-bit SLM"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{self.label}.lut: contains NaN or inf; every entry must be finite")
        if self._modulation != "phase" and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                f"{self.label}.lut: amplitudes must lie in [0, 1], got "
                f"[{arr.min():.3g}, {arr.max():.3g}]"
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
            DeviceDisconnected: the SLM is closed.
        """
        self._check_open("display a pattern")
        levels = self.validate(values)
        self._display_hw(levels)
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

    def levels_for(self, target: np.ndarray) -> np.ndarray:
        """Gray levels whose :attr:`lut` entry is nearest to ``target``.

        Args:
            target: phases in radians (phase mode, compared modulo 2 pi) or amplitudes.

        Returns:
            gray levels, same shape as ``target``, dtype :attr:`dtype`.
        """
        lut = self._lut
        if lut is None:
            top = self.levels - 1
            if self._modulation == "phase":
                lut = np.arange(self.levels) * (2 * np.pi / self.levels)
            else:
                lut = np.arange(self.levels) / max(top, 1)
        return nearest_levels(
            lut, np.asarray(target, dtype=np.float64), circular=self._modulation == "phase"
        ).astype(self.dtype)

    def display_values(self, target: np.ndarray) -> None:
        """Display the gray levels nearest to a target phase (radians) or amplitude map."""
        self.display(self.levels_for(target))

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
        lo, hi = (float(v) for v in exposure_limits)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
            raise ValueError(
                f"{self.label}.exposure_limits: got {exposure_limits!r}; expected "
                "(shortest, longest) seconds with 0 < shortest <= longest"
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
        self._timeout = self._check_timeout(value)

    @property
    def exposure(self) -> float:
        """Exposure time in seconds, as the device reports it."""
        self._check_open("read the exposure")
        return float(self._get_exposure_hw())

    @exposure.setter
    def exposure(self, seconds: float) -> None:
        self.set_exposure(seconds)

    def set_exposure(self, seconds: float) -> float:
        """Set the exposure in seconds; returns the value the device realized.

        Raises:
            InvalidPattern: not a finite number inside :attr:`exposure_limits`.
        """
        self._check_open("set the exposure")
        lo, hi = self._exposure_limits
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and lo <= value <= hi):
            raise InvalidPattern(
                self.label,
                f"exposure {seconds!r} s is not allowed",
                f"choose a value in [{lo:g}, {hi:g}] s",
            )
        self._set_exposure_hw(value)
        return float(self._get_exposure_hw())

    def describe(self) -> dict[str, Any]:
        """Plain-data summary for reports (SI units)."""
        return {
            "kind": "camera",
            "class": type(self).__name__,
            "name": self.name,
            "shape": list(self._shape),
            "pitch": self._pitch,
            "bit_depth": self._bit_depth,
            "exposure_limits": list(self._exposure_limits),
            "exposure": None if self._closed else self.exposure,
        }

    # -- capture --------------------------------------------------------------------------
    def capture(
        self, n_frames: int = 1, average: bool = False, timeout: float | None = None
    ) -> np.ndarray:
        """Acquire frames.

        Args:
            n_frames: number of consecutive frames (>= 1).
            average: return their mean (float64, shape :attr:`shape`) instead of the stack.
            timeout: seconds to wait for all frames (default :attr:`timeout`).

        Returns:
            ``(H, W)`` for one frame, ``(n_frames, H, W)`` otherwise, dtype :attr:`dtype`
            with values in ``[0, max_value]`` DN; or the float64 ``(H, W)`` mean.

        Raises:
            DeviceTimeout: no frames within ``timeout``. The camera stays usable.
            DeviceError: the driver failed or delivered malformed frames. Stays usable.
            DeviceDisconnected: the camera is closed or lost.
        """
        self._check_open("capture")
        if not isinstance(n_frames, int | np.integer) or isinstance(n_frames, bool) or n_frames < 1:
            raise InvalidPattern(self.label, f"n_frames={n_frames!r}", "expected an integer >= 1")
        n = int(n_frames)
        wait = self._timeout if timeout is None else self._check_timeout(timeout)
        try:
            raw = self._capture_hw(n, wait)
        except DeviceError:
            self._recover_hw()
            raise
        except TimeoutError as exc:
            self._recover_hw()
            raise DeviceTimeout(
                self.label,
                f"no frame within {wait:g} s ({exc})",
                "check the trigger and the exposure, or pass a longer timeout",
            ) from exc
        except Exception as exc:
            self._recover_hw()
            raise DeviceError(
                self.label,
                f"capture failed: {exc!r}",
                "the camera is still open; retry or check the driver",
            ) from exc
        frames = self._check_frames(raw, n)
        if average:
            return frames.mean(axis=0, dtype=np.float64)
        return frames[0] if n == 1 else frames

    def _check_frames(self, raw: np.ndarray, n: int) -> np.ndarray:
        frames = np.asarray(raw)
        if frames.ndim == 2 and n == 1:
            frames = frames[None]
        if frames.shape != (n, *self._shape):
            raise DeviceError(
                self.label,
                f"driver returned frames of shape {frames.shape}",
                f"expected ({n}, {self._shape[0]}, {self._shape[1]})",
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

    def _check_timeout(self, value: float) -> float:
        try:
            t = float(value)
        except (TypeError, ValueError):
            t = math.nan
        if not (math.isfinite(t) and t > 0):
            raise InvalidPattern(self.label, f"timeout {value!r} s", "expected seconds > 0")
        return t

    # -- driver hooks ---------------------------------------------------------------------
    @abstractmethod
    def _capture_hw(self, n_frames: int, timeout: float) -> np.ndarray:
        """Driver hook: return ``(n_frames, H, W)`` integer frames within ``timeout`` seconds.

        Raise :class:`DeviceTimeout` (or ``TimeoutError``) when frames do not arrive in time.
        """

    @abstractmethod
    def _get_exposure_hw(self) -> float:
        """Driver hook: the exposure the device currently uses, in seconds."""

    @abstractmethod
    def _set_exposure_hw(self, seconds: float) -> None:
        """Driver hook: set the exposure (already checked against the limits)."""

    def _recover_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: bring the device back to idle after a failed capture (abort, flush)."""
