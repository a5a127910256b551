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
from fouroptics.optics.pixels import (
    DOMAINS,
    check_kernel,
    crosstalk,
    crosstalk_response,
    fringing_kernel,
)

#: Where an SLM model's crosstalk belief came from.
CROSSTALK_SOURCES = ("profile", "calibration")

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
            ``fringing``): the belief when no ``crosstalk`` kernel is given, the kernel of
            :func:`fouroptics.optics.pixels.fringing_kernel`.
        crosstalk: a measured crosstalk kernel (kh, kw), odd sides up to 7, sum 1
            (:func:`fouroptics.optics.pixels.crosstalk`); overrides ``fringing``.
        crosstalk_domain: where the crosstalk acts: "phase" (a phase SLM realises
            ``exp(i K phi(l))``, an amplitude SLM ``K |t(l)|``) or "voltage" (``phi(K l)``, the
            response interpolated between levels); see
            :func:`fouroptics.optics.pixels.crosstalk_response`.
        crosstalk_source: "profile" (the nominal ``fringing``) or "calibration" (measured).
        crosstalk_hedge: a measured kernel (kh, kw) in the other domain than
            ``crosstalk_domain``, which the measurement could not rule out: a phase SLM's
            drive is then refined through both (:class:`fouroptics.compiler.refine.DriveModel`);
            None: the one domain.
        panel: (H, W) how a phase SLM's response varies across its panel (a calibration's
            :func:`fouroptics.optics.panel.panel_map`): pixel (y, x) at level l realises the
            phase ``panel[y, x] * phase_curve()[l]``; None: the same on every pixel.
    """

    bit_depth: int = 8
    modulation: str = "phase"
    response: np.ndarray | None = field(default=None, repr=False, compare=False)
    name: str = "linear"
    source: str = "linear"
    fringing: float = 0.0
    crosstalk: np.ndarray | None = field(default=None, repr=False, compare=False)
    crosstalk_domain: str = "phase"
    crosstalk_source: str = "profile"
    panel: np.ndarray | None = field(default=None, repr=False, compare=False)
    crosstalk_hedge: np.ndarray | None = field(default=None, repr=False, compare=False)

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
        if self.crosstalk is not None:
            try:
                kernel = check_kernel(self.crosstalk, "slm.crosstalk")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            if self.modulation == "complex":
                raise ConfigError("slm.crosstalk: a two-SLM complex modulator has no crosstalk")
            object.__setattr__(self, "crosstalk", kernel)
        if self.crosstalk_hedge is not None:
            if self.crosstalk is None or self.modulation != "phase":
                raise ConfigError(
                    "slm.crosstalk_hedge: a second domain's kernel needs a measured crosstalk "
                    "on a phase SLM"
                )
            try:
                hedge = check_kernel(self.crosstalk_hedge, "slm.crosstalk_hedge")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            object.__setattr__(self, "crosstalk_hedge", hedge)
        if self.crosstalk_domain not in DOMAINS:
            raise ConfigError(
                f"slm.crosstalk_domain: got {self.crosstalk_domain!r}; allowed: "
                f"{', '.join(DOMAINS)}"
            )
        if self.panel is not None:
            panel = np.asarray(self.panel, dtype=np.float64)
            if self.modulation != "phase" or panel.ndim != 2 or not np.all(panel > 0):
                raise ConfigError(
                    f"slm.panel: a (H, W) map of positive factors on a phase SLM; got shape "
                    f"{panel.shape} on a {self.modulation} SLM"
                )
            object.__setattr__(self, "panel", panel)
        if self.crosstalk_source not in CROSSTALK_SOURCES:
            raise ConfigError(
                f"slm.crosstalk_source: got {self.crosstalk_source!r}; allowed: "
                f"{', '.join(CROSSTALK_SOURCES)}"
            )

    @property
    def kernel(self) -> np.ndarray | None:
        """The crosstalk kernel the model realises through (kh, kw), or None (no crosstalk):
        the measured one, else the profile's nearest-neighbour ``fringing``."""
        if self.crosstalk is not None:
            return self.crosstalk
        return fringing_kernel(self.fringing) if self.fringing else None

    @property
    def hedge_domain(self) -> str | None:
        """The domain of :attr:`crosstalk_hedge` (the other one), or None without a hedge."""
        if self.crosstalk_hedge is None:
            return None
        return next(d for d in DOMAINS if d != self.crosstalk_domain)

    @property
    def has_crosstalk(self) -> bool:
        """Whether neighbouring pixels couple (a kernel other than the identity)."""
        k = self.kernel
        return k is not None and not (k.size == 1 or np.isclose(k.max(), 1.0))

    @staticmethod
    def crosstalk_fields(info: dict[str, Any]) -> dict[str, Any]:
        """The constructor's crosstalk arguments from a :meth:`describe` dict (a bundle's
        record), so a recompiled bundle keeps the crosstalk it was compiled through."""
        x = info.get("crosstalk") or {}
        out: dict[str, Any] = {"fringing": float(info.get("fringing", 0.0))}
        if x.get("source") == "calibration" and x.get("kernel") is not None:
            out.update(
                crosstalk=np.asarray(x["kernel"], dtype=np.float64),
                crosstalk_domain=str(x.get("domain", "phase")),
                crosstalk_source="calibration",
            )
            if x.get("hedge") is not None:
                out["crosstalk_hedge"] = np.asarray(x["hedge"]["kernel"], dtype=np.float64)
        return out

    @property
    def levels(self) -> int:
        return 2**self.bit_depth

    def quantise(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest available level for each wanted complex value: nearest phase (phase SLMs,
        with wrap-around), nearest amplitude (amplitude, binary), nearest complex value
        (complex). Returns (levels uint16, realised complex128), shapes of ``wanted``."""
        wanted = np.asarray(wanted)
        table = self.response
        if self.panel is not None:
            return self._quantise_panel(wanted)
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

    def _quantise_panel(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`quantise` of a phase SLM whose response varies across its panel: per pixel,
        the level whose phase ``panel * curve`` is nearest the wanted one modulo 2 pi (the
        candidates ``(angle + 2 pi k) / panel`` on the unwrapped curve)."""
        curve = self.phase_curve()
        m = self.panel
        target = np.mod(np.angle(wanted) - curve[0] * m, 2 * np.pi) + curve[0] * m
        best = err = None
        for k in (-1, 0, 1, 2):
            lv = self.nearest_phase_level((target + 2 * np.pi * (k - 1)) / m)
            e = np.abs(np.angle(np.exp(1j * (m * curve[lv] - target))))
            best = lv if best is None else np.where(e < err, lv, best)
            err = e if err is None else np.minimum(e, err)
        return best, np.exp(1j * m * curve[best])

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
        """Complex transmission (..., H, W) of displayed ``levels`` (..., H, W), crosstalk
        included in its domain (none: the table lookup) and the panel's map."""
        if self.panel is not None:  # the panel scales what each pixel's LC realises
            curve, kernel = self.phase_curve(), self.kernel if self.has_crosstalk else None
            if kernel is not None and self.crosstalk_domain == "phase":
                return np.exp(1j * crosstalk(curve[levels] * self.panel, kernel))
            return np.exp(1j * crosstalk_response(levels, curve, kernel, "voltage") * self.panel)
        if not self.has_crosstalk:
            return self.response[levels]
        if self.modulation == "phase":
            curve = self.phase_curve()
            return np.exp(
                1j * crosstalk_response(levels, curve, self.kernel, self.crosstalk_domain)
            )
        amp = np.abs(self.response)
        return crosstalk_response(levels, amp, self.kernel, self.crosstalk_domain) + 0j

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (the table itself is stored as an array)."""
        return {
            "name": self.name,
            "bit_depth": int(self.bit_depth),
            "modulation": self.modulation,
            "source": self.source,
            "fringing": float(self.fringing),
            "panel": None
            if self.panel is None
            else {"min": float(self.panel.min()), "max": float(self.panel.max())},
            "crosstalk": {
                "source": self.crosstalk_source,
                "domain": self.crosstalk_domain,
                "kernel": None if self.kernel is None else self.kernel.tolist(),
                "hedge": None
                if self.crosstalk_hedge is None
                else {"domain": self.hedge_domain, "kernel": self.crosstalk_hedge.tolist()},
            },
        }
