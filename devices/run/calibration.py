"""A calibration as the run uses it: plain data, from a CalibrationSet or a mapping.

devices never import calibration/: the run reads a calibration through its accessors
(``registration``, ``inverse_lut("input_slm")``) or the keys of a mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.optics.beam import gaussian_amplitude


@dataclass
class RunCalibration:
    """What a run uses from a calibration: the registration affine, the input SLM's inverse
    LUT (levels that linearise it: ``inverse[k]`` shows relative amplitude ``k / (L - 1)``),
    the measured camera (``gain`` DN/e-, ``black_level`` DN, ``full_well`` e-) and the beam on
    the input SLM (``centre_px`` (row, col) input pixels, ``waist_px`` its 1/e^2 intensity
    radius: :meth:`beam_amplitude` divides it out of the displayed images)."""

    registration: np.ndarray | None = None
    input_inverse_lut: np.ndarray | None = None
    #: (L,) the input SLM's measured response (radians from level 0, or amplitude), or None
    input_curve: np.ndarray | None = None
    source: str = "none"
    camera: dict[str, float] | None = None
    beam: dict[str, Any] | None = None
    #: (6,) coefficients of the input SLM's gamma map across its panel
    #: (:mod:`fouroptics.optics.panel`: an amplitude SLM shows ``A(g) ** m(y, x)``, a phase
    #: one ``m(y, x) curve(g)``), or None
    input_panel: np.ndarray | None = None

    def input_exponent(self, shape: tuple[int, int]) -> np.ndarray | None:
        """(H_in, W_in) the input SLM's map ``m`` (None: uniform, or not measured)."""
        if self.input_panel is None:
            return None
        from fouroptics.optics.panel import panel_map

        return panel_map(self.input_panel, shape)

    def beam_amplitude(self, shape: tuple[int, int]) -> np.ndarray | None:
        """Relative field amplitude of the measured Gaussian beam on an input SLM of ``shape``
        (H_in, W_in), ``exp(-r^2 / w^2)`` (1 at its centre), or None (flat or not measured)."""
        if self.beam is None or not np.isfinite(self.beam["waist_px"]):
            return None
        (cy, cx), w = self.beam["centre_px"], float(self.beam["waist_px"])
        return np.outer(
            gaussian_amplitude(np.arange(shape[0]), cy, w),
            gaussian_amplitude(np.arange(shape[1]), cx, w),
        )

    @classmethod
    def from_any(cls, cal: Any) -> RunCalibration:
        """From None, a RunCalibration, a mapping or an object with the CalibrationSet accessors
        (``registration``, ``inverse_lut("input_slm")``); a missing section is skipped."""
        if cal is None:
            return cls()
        if isinstance(cal, RunCalibration):
            return cal

        def get(name: str) -> Any:
            try:
                if isinstance(cal, dict):
                    return cal.get(name)
                if name == "input_inverse_lut":
                    inv = getattr(cal, "inverse_lut", None)
                    return inv("input_slm") if callable(inv) else None
                if name == "input_curve":
                    lut = getattr(cal, "lut", None)
                    return lut("input_slm") if callable(lut) else None
                if name == "camera":
                    response = getattr(cal, "camera_response", None)
                    return response() if callable(response) else None
                if name == "input_panel":
                    panel = getattr(cal, "panel", None)
                    return panel("input_slm") if callable(panel) else None
                if name == "beam":
                    fit = getattr(cal, "beam", None)
                    return fit() if callable(fit) else fit
                return getattr(cal, name, None)
            except Exception:  # a section the calibration does not hold
                return None

        reg = get("registration")
        inv = get("input_inverse_lut")
        if reg is not None:
            reg = np.asarray(reg, dtype=np.float64)
            if reg.shape != (2, 3) or not np.all(np.isfinite(reg)):
                raise ConfigError(
                    f"calibration.registration: shape {reg.shape}; expected a finite (2, 3) "
                    "affine camera (row, col) = M @ (input row, col, 1)"
                )
        src = str(getattr(cal, "path", None) or getattr(cal, "bench_name", None) or "given")
        if isinstance(cal, dict):
            src = str(cal.get("source", "given"))
        cam = get("camera")
        if cam is not None:
            cam = {k: float(v) for k, v in dict(cam).items()}
            bad = [k for k, v in cam.items() if not np.isfinite(v) or v < 0]
            if bad or cam.get("gain", 1.0) <= 0:
                raise ConfigError(
                    f"calibration.camera: {cam}; expected a finite gain > 0 (DN/e-) and "
                    "black_level, full_well >= 0"
                )
        beam = get("beam")
        if beam is not None:
            beam = {"centre_px": tuple(float(v) for v in beam["centre_px"]),
                    "waist_px": float(beam["waist_px"])}  # fmt: skip
            if not all(np.isfinite(beam["centre_px"])) or not beam["waist_px"] > 0:
                raise ConfigError(
                    f"calibration.beam: {beam}; expected a finite centre (input px) and a "
                    "waist > 0 (inf: flat)"
                )
        panel = get("input_panel")
        panel = None if panel is None else np.asarray(panel, np.float64)
        curve = get("input_curve")
        curve = None if curve is None else np.asarray(curve, np.float64)
        return cls(registration=reg, input_inverse_lut=inv, source=src, camera=cam, beam=beam,
                   input_panel=panel, input_curve=curve)  # fmt: skip
