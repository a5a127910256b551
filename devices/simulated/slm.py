"""A simulated SLM: true gray-level response, bit depth, fringing and fill factor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from devices.interface import SLM, Modulation
from devices.simulated.slm_response import gamma_amplitude_curve, gamma_phase_curve
from fouroptics.optics.pixels import (
    check_kernel,
    crosstalk_response,
    effective_transmission,
    fringing_kernel,
)


class SimulatedSLM(SLM):
    """An SLM whose displayed pattern becomes a complex reflectance for the physics model.

    The *true* response (``response``) is hidden: it is what the device does, while
    :attr:`lut` is what the lab believes (default: the nominal linear curve, i.e. none).

    Args:
        shape: ``(rows, columns)``.
        pitch: metres.
        bit_depth: drive bits (1 for ``binary``).
        modulation: ``"phase"``, ``"amplitude"`` or ``"binary"``.
        response: true curve per gray level, shape ``(2**bit_depth,)``: radians (phase) or
            field amplitude in [0, 1]. Default: ``phase_range * x**gamma`` (phase) or
            ``amplitude_min + (1 - amplitude_min) * x**gamma`` with ``x = g / (L - 1)``.
        phase_range: radians spanned by the default phase curve (2 pi * 1.05: not exactly
            2 pi, as on real devices).
        gamma: exponent of the default curve.
        amplitude_min: dark-level field leakage of the default amplitude/binary curve.
        fill_factor: modulated fraction of the pixel *area*, in (0, 1]. :meth:`field` returns
            the pixel average ``ff * modulated + (1 - ff) * dead_space`` (the in-band part;
            the rest diffracts into higher orders). On the Fourier SLM the bench instead hands
            ``fill_factor`` and ``dead_space`` to the physics model's pixel aperture.
        dead_space: complex reflectance of the inter-pixel gaps (default 1 for phase SLMs:
            unmodulated light; 0 for amplitude/binary: a DMD's gaps send light elsewhere).
        fringing: nearest-neighbour coupling c in [0, 0.25] (see
            :func:`fouroptics.optics.pixels.fringing_kernel`), used when no ``crosstalk``.
        crosstalk: the true crosstalk kernel (kh, kw) (odd sides up to 7, sum 1; see
            :func:`fouroptics.optics.pixels.crosstalk`); overrides ``fringing``.
        crosstalk_domain: "phase" (the kernel mixes what the LUT realises) or "voltage" (it
            mixes the drive before the LUT, the response interpolated between levels).
        lut: believed response (see :class:`devices.interface.slm.SLM`).
        name: label.
        panel: (H, W) map of how the response varies across the panel (cell-gap
            non-uniformity, :func:`devices.simulated.slm_response.draw_panel`): a phase SLM
            realises ``panel * response[l]``, an amplitude SLM ``response[l] ** panel``.
            None: the same response on every pixel.
        phase_coupling: (L,) radians an amplitude SLM's level adds to its field
            (``A(l) exp(i phase_coupling[l])``, an LCoS between polarisers); None: none.
    """

    def __init__(
        self,
        shape: Sequence[int] = (1080, 1920),
        pitch: float = 8e-6,
        bit_depth: int = 8,
        modulation: Modulation = "phase",
        response: np.ndarray | Sequence[float] | None = None,
        phase_range: float = 2 * np.pi * 1.05,
        gamma: float = 1.0,
        amplitude_min: float = 0.0,
        fill_factor: float = 1.0,
        dead_space: complex | None = None,
        fringing: float = 0.0,
        crosstalk: np.ndarray | None = None,
        crosstalk_domain: str = "phase",
        lut: np.ndarray | Sequence[float] | None = None,
        name: str | None = None,
        panel: np.ndarray | None = None,
        phase_coupling: np.ndarray | None = None,
    ) -> None:
        super().__init__(
            shape, pitch, bit_depth=bit_depth, modulation=modulation, lut=lut, name=name
        )
        if response is None:
            if modulation == "phase":
                response = gamma_phase_curve(self.levels, phase_range, gamma)
            else:
                response = gamma_amplitude_curve(self.levels, gamma, amplitude_min)
        curve = np.asarray(response, dtype=np.float64)
        if curve.shape != (self.levels,) or not np.all(np.isfinite(curve)):
            raise ValueError(
                f"{self.label}.response: got shape {curve.shape}; expected ({self.levels},) "
                "finite values, one per gray level"
            )
        if modulation != "phase" and (curve.min() < 0 or curve.max() > 1):
            raise ValueError(f"{self.label}.response: amplitudes must lie in [0, 1]")
        if not 0 < fill_factor <= 1:
            raise ValueError(f"{self.label}.fill_factor: got {fill_factor}; expected (0, 1]")
        if not 0 <= fringing <= 0.25:
            raise ValueError(f"{self.label}.fringing: got {fringing}; expected [0, 0.25]")
        self._response = curve
        self._fill_factor = float(fill_factor)
        self._dead_space = complex(
            (1.0 if modulation == "phase" else 0.0) if dead_space is None else dead_space
        )
        self._fringing = float(fringing)
        if crosstalk_domain not in ("phase", "voltage"):
            raise ValueError(
                f"{self.label}.crosstalk_domain: got {crosstalk_domain!r}; expected phase or "
                "voltage"
            )
        kernel = fringing_kernel(fringing) if crosstalk is None else crosstalk
        kernel = check_kernel(kernel, f"{self.label}.crosstalk")
        # the identity kernel: no pixel couples to another
        self._kernel = None if np.isclose(kernel.max(), 1.0) else kernel
        self._domain = crosstalk_domain
        # complex reflectance per level: used directly when there is no fringing
        self._table = np.exp(1j * curve) if modulation == "phase" else curve.astype(complex)
        self._cache: tuple[int, np.ndarray] | None = None
        self._version = 0
        self._panel = None if panel is None else np.asarray(panel, dtype=np.float64)
        if self._panel is not None and (
            self._panel.shape != tuple(self.shape) or not np.all(self._panel > 0)
        ):
            raise ValueError(
                f"{self.label}.panel: got shape {self._panel.shape}; expected {tuple(self.shape)} "
                "positive factors"
            )
        self._coupling = None
        if phase_coupling is not None:
            self._coupling = np.asarray(phase_coupling, dtype=np.float64)
            if modulation == "phase" or self._coupling.shape != (self.levels,):
                raise ValueError(
                    f"{self.label}.phase_coupling: {self._coupling.shape} radians on a "
                    f"{modulation} SLM; expected ({self.levels},) on an amplitude SLM"
                )
            self._table = self._table * np.exp(1j * self._coupling)

    @property
    def fill_factor(self) -> float:
        """Modulated fraction of the pixel area."""
        return self._fill_factor

    @property
    def dead_space(self) -> complex:
        """Complex reflectance of the inter-pixel gaps."""
        return self._dead_space

    @property
    def version(self) -> int:
        """Increments at each :meth:`display`; lets a bench cache what it computed."""
        return self._version

    def _display_hw(self, levels: np.ndarray) -> None:
        self._version += 1
        self._cache = None

    def field(self, levels: np.ndarray | None = None, fill_factor: bool = True) -> np.ndarray:
        """Pixel-averaged complex reflectance, shape :attr:`shape`, complex128.

        The displayed pattern's field is cached and returned read-only.

        Args:
            levels: gray levels to evaluate (validated); default the displayed pattern.
            fill_factor: mix in the gaps, ``ff * modulated + (1 - ff) * dead_space``. Pass
                False when the optics model applies the pixel aperture itself.
        """
        use_cache = levels is None and fill_factor
        if use_cache and self._cache is not None and self._cache[0] == self._version:
            return self._cache[1]
        g = self.pattern if levels is None else self.validate(levels)
        out = self.fields(g[None], fill_factor)[0]
        if use_cache:
            out.flags.writeable = False  # shared with later calls: read-only
            self._cache = (self._version, out)
        return out

    def level_table(
        self, fill_factor: bool = True, dtype: Any = np.complex128
    ) -> np.ndarray | None:
        """(L,) ``dtype`` reflectance of each gray level (true response, and with
        ``fill_factor`` the gap mix), or None when crosstalk couples neighbouring pixels (a
        pixel's field then depends on its neighbours' levels too)."""
        if self._kernel is not None or self._panel is not None:
            return None
        out = np.asarray(self._table, dtype=dtype)
        if fill_factor and self._fill_factor < 1:  # the one home of pixel-aperture physics
            out = effective_transmission(out, self._fill_factor, self._dead_space)
        return out

    def checked_levels(self, levels: np.ndarray) -> np.ndarray:
        """``levels`` (B, H, W) as an array, or the SLM's own one-line error (another shape, a
        non-integer dtype, a level out of range)."""
        lv = np.asarray(levels)
        if lv.shape[-2:] != tuple(self.shape) or lv.dtype.kind not in "ui":
            self.validate(lv.reshape(-1, *lv.shape[-2:])[0])
        if lv.size and (lv.min() < 0 or lv.max() > self.levels - 1):
            self.validate(lv.reshape(-1, *lv.shape[-2:])[int(np.argmax(lv.max(axis=(-2, -1))))])
        return lv

    def fields(
        self, levels: np.ndarray, fill_factor: bool = True, dtype: Any = np.complex128
    ) -> np.ndarray:
        """Reflectances of a batch of level patterns (B, H, W) -> (B, H, W) ``dtype``: the
        true response through the crosstalk (in its domain), with ``fill_factor`` the gap mix (as
        :meth:`field`, many patterns at once). Patterns of another shape, a non-integer dtype
        or levels out of range get the SLM's one-line error."""
        lv = self.checked_levels(levels)
        table = self.level_table(fill_factor, dtype)
        if table is not None:
            return table[lv]
        real = crosstalk_response(lv, self._response, self._kernel, self._domain)
        if self.modulation == "phase":
            out = np.exp(1j * (real if self._panel is None else real * self._panel))
        else:
            out = (real if self._panel is None else real**self._panel) + 0j
            if self._coupling is not None:  # the retardance of the level shown (its own)
                out = out * np.exp(1j * self._coupling[lv])
        if fill_factor and self._fill_factor < 1:
            out = effective_transmission(out, self._fill_factor, self._dead_space)
        return out

    def truth(self) -> dict[str, Any]:
        """The hidden device behaviour (for tests and reports, not calibration)."""
        return {
            "response": self._response.copy(),
            "fill_factor": self._fill_factor,
            "dead_space": self._dead_space,
            "fringing": self._fringing,
            "crosstalk": {
                "kernel": np.eye(1) if self._kernel is None else self._kernel.copy(),
                "domain": self._domain,
            },
            "modulation": self.modulation,
            "bit_depth": self.bit_depth,
            "panel": None if self._panel is None else self._panel.copy(),
            "phase_coupling": None if self._coupling is None else self._coupling.copy(),
        }

    @property
    def complex_field(self) -> bool:
        """Whether a level's field has a phase besides its sign (phase SLMs, phase coupling,
        a complex gap reflectance): the physics model then keeps the field complex."""
        return (
            self.modulation == "phase" or self._coupling is not None or (self._dead_space.imag != 0)
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "fill_factor": self._fill_factor}
