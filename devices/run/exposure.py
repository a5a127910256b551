"""Automatic exposure: the brightest readout-window pixel at a target share of the camera's
range, as a lab would set it; a camera that stays dark or saturated is reported with numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices.interface.errors import DeviceError


@dataclass
class ExposureReport:
    """Chosen exposure (s), brightest window level (fraction of the camera range) and notes."""

    exposure: float
    fraction: float
    target: float
    steps: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def auto_exposure(
    bench: Any,
    grab: Callable[[], np.ndarray],
    windows: np.ndarray,
    target: float = 0.5,
    offset: float | None = None,
    max_steps: int = 12,
    measured: dict[str, float] | None = None,
) -> ExposureReport:
    """Set ``bench.camera.exposure`` so the brightest readout-window pixel of a few probe
    frames sits at ``target`` x the camera's range (ADC top minus black level).

    Args:
        grab: returns DN frames (B, F, H, W) at the current exposure.
        windows: (F, H, W) readout windows (``bundle.window_mask()``).
        offset: black level in DN (default: the frames' 1st percentile outside the windows).
        measured: the calibrated camera (gain, black level, full well) for the saturation
            level; default the camera's spec sheet.

    Raises:
        DeviceError: still saturated at the shortest exposure.
    """
    cam = bench.camera
    lo, hi = cam.exposure_limits
    top = saturation_dn(cam, measured)
    rep = ExposureReport(exposure=cam.exposure, fraction=0.0, target=target)
    for _ in range(max_steps):
        dn = grab()
        if offset is None:
            outside = dn[:, ~windows] if (~windows).any() else dn.reshape(len(dn), -1)
            offset = float(np.percentile(outside, 1))
        peak = float(dn[np.broadcast_to(windows, dn.shape)].max())
        span = max(top - offset, 1.0)
        frac = (peak - offset) / span
        exp = cam.exposure
        rep.steps.append({"exposure": exp, "fraction": frac})
        rep.exposure, rep.fraction = exp, frac
        if peak >= top:  # saturated: halve (no scale to trust)
            new = max(exp / 2, lo)
            if exp <= lo * (1 + 1e-9):
                raise DeviceError(
                    cam.label,
                    f"saturated at the shortest exposure {lo:g} s (brightest window pixel at "
                    f"{peak:.0f} DN of {top:.0f})",
                    "lower the laser power or add a neutral density filter",
                )
        else:
            if frac <= 0:
                new = min(exp * 10, hi)
            else:
                new = float(np.clip(exp * target / frac, lo, hi))
            if abs(new - exp) <= 0.02 * exp:
                break
        if new == exp:
            break
        cam.exposure = new
    if rep.fraction < 0.02:
        rep.warnings.append(
            f"dark camera: the brightest readout window reaches {100 * rep.fraction:.2g} % of "
            f"the {top:.0f} DN range at exposure {rep.exposure:g} s (longest {hi:g} s); raise the "
            "laser power"
        )
    return rep


def camera_value(camera: Any, measured: dict[str, float] | None, key: str) -> float | None:
    """A camera quantity as the lab knows it: the calibration's measured value (``measured``,
    :attr:`devices.run.calibration.RunCalibration.camera`), else the camera's spec sheet
    (:attr:`devices.interface.camera.Camera.datasheet`), else None. Never a simulated
    camera's hidden truth."""
    if measured and key in measured:
        return float(measured[key])
    sheet = getattr(camera, "datasheet", None) or {}
    return float(sheet[key]) if key in sheet else None


def saturation_dn(camera: Any, measured: dict[str, float] | None = None) -> float:
    """DN at which a pixel is saturated: the ADC top, or the full well (measured, else the spec
    sheet's) when it comes first."""
    top = float(camera.max_value)
    gain = camera_value(camera, measured, "gain")
    well = camera_value(camera, measured, "full_well")
    if gain is not None and well is not None:
        black = camera_value(camera, measured, "black_level") or 0.0
        top = min(top, float(np.floor(gain * well + black)))
    return top
