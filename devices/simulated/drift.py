"""Slow drift of a simulated bench's hidden imperfections with its clock (seconds).

Model: a **linear drift plus a slow random walk**. Each drifting quantity moves from its value
at t = 0 (the seeded :class:`~devices.simulated.imperfections.Imperfections`) at its rate from
the bench YAML (``imperfections: drift: {camera_shift: 0.5 px/h, ...}``) in a direction drawn
from the seed (after every other draw of the imperfections: a seed's static values do not
move): the camera image along a random unit vector (pixels), the Fourier SLM along another,
the camera rotation, each lens's focal error and the laser power each with a random sign. On
top, ``walk`` (default 0) adds a random walk whose rms after one hour is ``walk`` times the
quantity's linear drift in an hour (knots every :data:`WALK_STEP_S` seconds, linear between
them, drawn hour by hour from the seed: the same seed gives the same path at any time).

Rates are SI per second: ``camera_shift`` and ``fourier_decentre`` in pixels/s,
``camera_rotation`` in rad/s, ``focal`` and ``laser_power`` in fraction/s.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from devices.simulated.imperfections import Imperfections

#: seconds between the random walk's knots
WALK_STEP_S = 60.0
_HOUR = 3600.0
#: components (shift y, x; rotation; decentre y, x; focal 1, 2; power)
_N = 8


@dataclass(frozen=True)
class DriftRates:
    """Drift rates of a bench, SI per second (see the module), and the walk fraction."""

    camera_shift: float = 0.0
    camera_rotation: float = 0.0
    fourier_decentre: float = 0.0
    focal: float = 0.0
    laser_power: float = 0.0
    walk: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"bench.imperfections.drift.{f.name}: got {v!r}; expected >= 0")

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "walk")


class Drift:
    """The seeded directions of a bench's drift and its walk; :meth:`at` gives the
    imperfections at a time.

    Args:
        rates: the :class:`DriftRates`.
        rng: the imperfections' generator, after every other draw (directions: 6 normals,
            then one integer seeding the walk).
    """

    def __init__(self, rates: DriftRates, rng: np.random.Generator) -> None:
        self.rates = rates
        n = rng.standard_normal(6)
        self.shift_direction = n[0:2] / max(np.hypot(*n[0:2]), 1e-12)
        self.decentre_direction = n[2:4] / max(np.hypot(*n[2:4]), 1e-12)
        signs = np.where(rng.standard_normal(4) < 0, -1.0, 1.0)
        self.rotation_sign, self.power_sign = float(signs[0]), float(signs[1])
        self.focal_signs = signs[2:4]
        self._walk_entropy = int(rng.integers(2**63))
        self._blocks: list[np.ndarray] = []  # per hour: (61, 8) walk at the knots, from 0

    def _linear_rates(self) -> np.ndarray:
        """Signed rate per component (_N,), SI per second."""
        r = self.rates
        return np.array([
            *(r.camera_shift * self.shift_direction),
            r.camera_rotation * self.rotation_sign,
            *(r.fourier_decentre * self.decentre_direction),
            *(r.focal * self.focal_signs),
            r.laser_power * self.power_sign,
        ])  # fmt: skip

    def _walk(self, t: float) -> np.ndarray:
        """The random walk at ``t`` seconds (_N,): unit rms after an hour, times the walk's
        scale per component (:meth:`offsets`)."""
        per_hour = int(_HOUR / WALK_STEP_S)
        block = int(t // _HOUR)
        while len(self._blocks) <= block:  # hour k continues from hour k - 1's end
            seq = np.random.SeedSequence(self._walk_entropy, spawn_key=(len(self._blocks),))
            steps = np.random.default_rng(seq).standard_normal((per_hour, _N))
            start = self._blocks[-1][-1] if self._blocks else np.zeros(_N)
            knots = start + np.vstack([np.zeros(_N), np.cumsum(steps, axis=0)]) / np.sqrt(per_hour)
            self._blocks.append(knots)
        knots = self._blocks[block]
        x = (t - block * _HOUR) / WALK_STEP_S
        i = min(int(x), per_hour - 1)
        return knots[i] + (x - i) * (knots[i + 1] - knots[i])

    def offsets(self, t: float) -> np.ndarray:
        """Drift of each component at ``t`` seconds (_N,): camera shift (dy, dx) px, rotation
        rad, Fourier decentre (dy, dx) px, focal errors (e1, e2), laser power fraction."""
        if not (np.isfinite(t) and t >= 0):
            raise ValueError(f"bench clock: got t = {t!r} s; expected >= 0")
        r = self.rates
        scale = np.array([r.camera_shift] * 2 + [r.camera_rotation] + [r.fourier_decentre] * 2
                         + [r.focal] * 2 + [r.laser_power])  # fmt: skip
        out = self._linear_rates() * t
        if r.walk:
            out = out + r.walk * scale * _HOUR * self._walk(t)
        return out

    def at(self, base: Imperfections, t: float) -> Imperfections:
        """``base`` (the imperfections at t = 0) drifted to ``t`` seconds."""
        o = self.offsets(t)
        return replace(
            base,
            camera_shift=(base.camera_shift[0] + o[0], base.camera_shift[1] + o[1]),
            camera_rotation=base.camera_rotation + o[2],
            fourier_decentre=(base.fourier_decentre[0] + o[3], base.fourier_decentre[1] + o[4]),
            focal_error=(base.focal_error[0] + o[5], base.focal_error[1] + o[6]),
            power_factor=max(base.power_factor * (1.0 + o[7]), 0.05),
        )

    def describe(self, t: float) -> dict[str, object]:
        """``rates`` (SI per second), the seeded ``directions`` and the ``offsets`` at ``t``
        (for truth and reports)."""
        o = self.offsets(t)
        return {
            "model": "linear drift plus a random walk",
            "rates": {f.name: getattr(self.rates, f.name) for f in fields(self.rates)},
            "directions": {
                "camera_shift": self.shift_direction.tolist(),
                "camera_rotation": self.rotation_sign,
                "fourier_decentre": self.decentre_direction.tolist(),
                "focal": self.focal_signs.tolist(),
                "laser_power": self.power_sign,
            },
            "offsets": {
                "t_s": float(t),
                "camera_shift_px": o[0:2].tolist(),
                "camera_rotation_rad": float(o[2]),
                "fourier_decentre_px": o[3:5].tolist(),
                "focal_error": o[5:7].tolist(),
                "laser_power": float(o[7]),
            },
        }
