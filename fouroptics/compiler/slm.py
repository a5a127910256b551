"""What an SLM can show, as plain data (the compiler never imports devices/).

:class:`SLMModel` holds the bit depth, the modulation and the level -> complex response table
(the device profile's LUT, or a calibration's measured response). The CLI shell builds it from a
device profile or a calibration file; tests build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.optics.pixels import fringing

MODULATIONS = ("phase", "amplitude", "binary", "complex")


@dataclass(frozen=True)
class SLMModel:
    """An SLM's drive levels and what they show.

    Args:
        bit_depth: bits per pixel (1 for a DMD).
        modulation: "phase", "amplitude", "binary" (DMD) or "complex" (two SLMs; ideal).
        response: (2**bit_depth,) complex transmission of each level (the LUT); default the
            linear one: ``exp(i 2 pi l / 2**b)`` for phase, ``l / (2**b - 1)`` for amplitude,
            {0, 1} for binary, a polar amplitude x phase grid for complex (two SLMs).
        name: a label (device profile or calibration).
        source: where the table came from ("profile", "calibration", "linear").
        fringing: nearest-neighbour pixel crosstalk c in [0, 0.25] (the device profile's
            ``fringing``): a phase SLM realises ``exp(i K phi(l))``, an amplitude SLM
            ``K |t(l)|``, with ``K`` the kernel of :func:`fouroptics.optics.pixels.fringing`.
    """

    bit_depth: int = 8
    modulation: str = "phase"
    response: np.ndarray | None = field(default=None, repr=False, compare=False)
    name: str = "linear"
    source: str = "linear"
    fringing: float = 0.0

    def __post_init__(self) -> None:
        if self.modulation not in MODULATIONS:
            raise ConfigError(
                f"slm.modulation: got {self.modulation!r}; allowed: {', '.join(MODULATIONS)}"
            )
        b = self.bit_depth
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 1 <= b <= 16:
            raise ConfigError(f"slm.bit_depth: got {b!r}; allowed integers 1..16")
        if self.modulation == "binary" and b != 1:
            raise ConfigError(f"slm.bit_depth: a binary SLM has 1 bit, got {b}")
        n = 2**b
        if self.response is None:
            lv = np.arange(n)
            if self.modulation == "phase":
                table = np.exp(2j * np.pi * lv / n)
            elif self.modulation in ("amplitude", "binary"):
                table = lv / (n - 1) + 0j
            else:  # two SLMs: amplitude (high bits) x phase (low bits), a polar grid
                na = 2 ** (b // 2)
                npha = n // na
                table = (lv // npha) / max(na - 1, 1) * np.exp(2j * np.pi * (lv % npha) / npha)
        else:
            table = np.asarray(self.response, dtype=np.complex128).ravel()
            if table.shape != (n,):
                raise ConfigError(
                    f"slm.response: {table.shape[0]} entries for {b} bits; expected {n}"
                )
            if not np.all(np.isfinite(table)) or np.abs(table).max() > 1 + 1e-6:
                raise ConfigError("slm.response: entries must be finite with |t| <= 1")
        object.__setattr__(self, "response", table)
        c = self.fringing
        if isinstance(c, bool) or not isinstance(c, int | float) or not 0 <= c <= 0.25:
            raise ConfigError(f"slm.fringing: got {c!r}; allowed numbers in [0, 0.25]")
        if c and self.modulation == "complex":
            raise ConfigError("slm.fringing: a two-SLM complex modulator has no fringing model")
        object.__setattr__(self, "fringing", float(c))

    @property
    def levels(self) -> int:
        return 2**self.bit_depth

    def quantise(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest available level for each wanted complex value: nearest phase (phase SLMs,
        with wrap-around), nearest amplitude (amplitude, binary), nearest complex value
        (complex). Returns (levels uint16, realised complex128), shapes of ``wanted``."""
        wanted = np.asarray(wanted)
        table = self.response
        if self.modulation == "complex":
            from scipy.spatial import cKDTree

            tree = cKDTree(np.stack([table.real, table.imag], axis=1))
            flat = wanted.ravel()
            _, lv = tree.query(np.stack([flat.real, flat.imag], axis=1))
            lv = np.asarray(lv).reshape(wanted.shape)
        else:
            periodic = self.modulation == "phase"
            key = np.angle(table) if periodic else np.abs(table)
            target = np.angle(wanted) if periodic else np.abs(wanted)
            order = np.argsort(key)
            ks = key[order]
            pos = np.searchsorted(ks, target)
            lo = (pos - 1) % len(ks) if periodic else np.clip(pos - 1, 0, len(ks) - 1)
            hi = pos % len(ks) if periodic else np.clip(pos, 0, len(ks) - 1)

            def dist(idx: np.ndarray) -> np.ndarray:
                d = np.abs(target - ks[idx])
                return np.minimum(d, 2 * np.pi - d) if periodic else d

            pick = np.where(dist(lo) <= dist(hi), lo, hi)
            lv = order[pick]
        lv = lv.astype(np.uint16)
        return lv, table[lv]

    def phase_curve(self) -> np.ndarray:
        """Phase of each level in radians, unwrapped from level 0 (a phase SLM's response as
        the liquid crystal realises it: a stroke beyond 2 pi stays beyond). Shape (levels,)."""
        if self.modulation != "phase":
            raise ConfigError(f"slm {self.name!r}: a {self.modulation} SLM has no phase curve")
        return np.unwrap(np.angle(self.response))

    def nearest_phase_level(self, phase: np.ndarray) -> np.ndarray:
        """Level whose unwrapped phase (:meth:`phase_curve`) is nearest to ``phase`` (radians,
        on the curve's own scale, not wrapped). Returns uint16 levels, the shape of ``phase``."""
        curve = self.phase_curve()
        order = np.argsort(curve)
        ks = curve[order]
        pos = np.clip(np.searchsorted(ks, phase), 1, len(ks) - 1)
        pick = np.where(np.abs(phase - ks[pos - 1]) <= np.abs(ks[pos] - phase), pos - 1, pos)
        return order[pick].astype(np.uint16)

    def realise(self, levels: np.ndarray) -> np.ndarray:
        """Complex transmission (..., H, W) of displayed ``levels`` (..., H, W), fringing
        included (none: the table lookup)."""
        if self.fringing == 0:
            return self.response[levels]
        if self.modulation == "phase":
            return np.exp(1j * fringing(self.phase_curve()[levels], self.fringing))
        return fringing(np.abs(self.response)[levels], self.fringing) + 0j

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (the table itself is stored as an array)."""
        return {
            "name": self.name,
            "bit_depth": int(self.bit_depth),
            "modulation": self.modulation,
            "source": self.source,
            "fringing": float(self.fringing),
        }
