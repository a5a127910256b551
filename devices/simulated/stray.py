"""Stray light: a fraction of the laser's power (the Fourier SLM's zero order and unmodulated
light, back-reflections off the cover glass and lens surfaces) reaching the camera as a smooth
background, not a copy of the signal.

The background's shape is a wide Gaussian (1/e^2 radius 0.6 to 0.9 of the sensor's diagonal)
centred off the sensor's centre by a seeded offset (rms 0.2 of its size per axis), times a
seeded tilt ``1 + c_y y + c_x x`` (rms 0.15 per coefficient, ``y, x`` in [-1, 1]), clipped at 0
and normalised to unit sum over the sensor: power ``fraction * P_laser * shape`` W per pixel.
It follows the laser's true power (its drift, RIN and a sweep's power scale).
"""

from __future__ import annotations

import numpy as np


class StrayLight:
    """A smooth background on the camera.

    Args:
        fraction: share of the laser's power reaching the camera as background (>= 0).
        shape: the camera's ``(rows, columns)``.
        rng: draws the background's shape.
    """

    def __init__(self, fraction: float, shape: tuple[int, int], rng: np.random.Generator) -> None:
        if not (np.isfinite(fraction) and 0 <= fraction < 1):
            raise ValueError(f"stray_light: got {fraction!r}; expected a fraction in [0, 1)")
        self.fraction = float(fraction)
        h, w = shape
        n = rng.standard_normal(4)
        radius = rng.uniform(0.6, 0.9) * np.hypot(h, w)
        y = (np.arange(h) - (h - 1) / 2)[:, None]
        x = (np.arange(w) - (w - 1) / 2)[None, :]
        cy, cx = 0.2 * h * n[0], 0.2 * w * n[1]
        gauss = np.exp(-2 * ((y - cy) ** 2 + (x - cx) ** 2) / radius**2)
        tilt = 1.0 + 0.15 * n[2] * y / (h / 2) + 0.15 * n[3] * x / (w / 2)
        prof = np.maximum(gauss * tilt, 0.0)
        self.profile = (prof / prof.sum()).astype(np.float32)
        self.centre = (float(cy), float(cx))
        self.radius = float(radius)

    def background(self, laser_power: float) -> np.ndarray:
        """(H, W) float32 W per pixel for a laser of ``laser_power`` W."""
        return self.profile * np.float32(self.fraction * laser_power)

    def describe(self) -> dict[str, object]:
        return {"fraction": self.fraction, "centre_px": self.centre, "radius_px": self.radius}
