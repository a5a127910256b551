"""The SLM interface: :class:`SLM` (gray levels in, validated, to a driver hook) and
:func:`nearest_levels` (gray levels for target phases or amplitudes through a LUT)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from devices.interface.checks import uint_dtype
from devices.interface.device import PixelDevice
from devices.interface.errors import InvalidPattern, InvalidSetting

Modulation = Literal["phase", "amplitude", "binary"]
MODULATIONS: tuple[str, ...] = ("phase", "amplitude", "binary")


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
