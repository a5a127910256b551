"""The quick check: is a calibration still right for the bench? (``fouroptics calibrate
--check``; a lab's morning check, and the timeline's trigger to recalibrate.)

A few dozen frames through the bench's devices only (display, capture, exposure), each
compared with what the calibration measured:

- ``registration_px``: one dot grid (the registration's first, through the conjugate of the
  measured wavefront as the registration saw it); each dot's image is found near where the
  calibrated affine puts it; ``now`` is the rms distance (camera px) between the two, ``then``
  the calibration's own fit residual;
- ``fourier_centre_px``: the zero order's centre on the Fourier SLM by the split-region
  measurement of :func:`calibration.fourier.peak_centre` (2 axes x 2 regions x 4 steps),
  ``then`` the calibrated centre, ``drift`` the distance (Fourier px);
- ``laser_power``: the fully-on frame's mean signal per second (DN/s, dark subtracted) against
  the registration's (``drift``: the relative change);
- ``dark_dn``: a dark frame's mean against the calibrated black level (DN).

Each quantity's ``ok`` is ``drift <= limit`` (:data:`LIMITS`); a failed quantity names the
routines (:data:`RERUN`) that bring the calibration back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from calibration.errors import CalibrationError
from calibration.fourier import peak_centre, split_setup
from calibration.patterns import dot_grid, phase_levels
from calibration.registration import beam_weighted_centres, spot_centre
from calibration.run import ROUTINES
from calibration.session import Session
from fouroptics.optics.zernike import aberration_phase

#: drift allowed before a recalibration: camera px (rms over the dots), Fourier px, relative
#: laser power, DN
LIMITS = {
    "registration_px": 0.1,
    "fourier_centre_px": 0.15,
    "laser_power": 0.05,
    "dark_dn": 2.0,
}
#: the calibration routines that re-measure each quantity
RERUN = {
    "registration_px": ("registration",),
    "fourier_centre_px": ("fourier", "aberration"),
    "laser_power": ("registration",),
    "dark_dn": ("camera",),
}


@dataclass
class CheckResult:
    """``items``: ``{quantity: {"then", "now", "drift", "limit", "ok"}}`` (quantities the
    calibration lacks are left out); ``frames``: displayed and captured."""

    items: dict[str, dict[str, Any]]
    frames: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(v["ok"] for v in self.items.values())

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.items.items() if not v["ok"]]

    @property
    def routines(self) -> tuple[str, ...]:
        """The calibration routines to rerun (in :data:`calibration.run.ROUTINES` order)."""
        wanted = {r for k in self.failed for r in RERUN[k]}
        return tuple(r for r in ROUTINES if r in wanted)

    def summary(self) -> str:
        """One line naming what drifted (or that nothing did)."""
        if self.ok:
            return "every quantity within its limit"
        return "; ".join(
            f"{k} drifted {self.items[k]['drift']:.3g} (limit {self.items[k]['limit']:g})"
            for k in self.failed
        )


def _item(then: float, now: float, drift: float, limit: float) -> dict[str, Any]:
    return {"then": float(then), "now": float(now), "drift": float(drift), "limit": limit,
            "ok": bool(abs(drift) <= limit)}  # fmt: skip


def quick_check(
    bench: Any, cal: Any, limits: dict[str, float] | None = None, spacing: int = 24, dot: int = 4
) -> CheckResult:
    """Compare the bench with a CalibrationSet in a few dozen frames (see the module).

    Args:
        bench: a Bench (simulated or hardware): only display, capture and exposure are used.
        cal: the :class:`calibration.calset.CalibrationSet` to check.
        limits: overrides of :data:`LIMITS`.
        spacing, dot: the dot grid (as :func:`calibration.registration.register`).
    """
    lim = {**LIMITS, **(limits or {})}
    session = Session(bench)
    session.start("check")
    sections = cal.sections
    items: dict[str, dict[str, Any]] = {}
    inverse = _inverse(sections, "fourier_slm")
    flat = _fourier_flat(bench, sections, inverse)
    if "camera" in sections:
        session.display(None, flat)
        dark = float(session.dark_frame(2).mean())
        then = float(np.asarray(sections["camera"]["black_level"]))
        items["dark_dn"] = _item(then, dark, dark - then, lim["dark_dn"])
    if "registration" in sections:
        reg = sections["registration"]
        now, flat_rate = _registration(session, cal, flat, spacing, dot)
        then = float(np.asarray(reg["residual_px"]))
        items["registration_px"] = _item(then, now, now, lim["registration_px"])
        then_rate = reg.get("raw", {}).get("flat_dn_per_s")
        if then_rate is not None:
            then_rate = float(np.asarray(then_rate))
            items["laser_power"] = _item(
                then_rate, flat_rate, flat_rate / then_rate - 1.0, lim["laser_power"]
            )
    if "fourier" in sections and bench.fourier_slm.modulation == "phase":
        f = cal.fourier
        registration = cal.registration if "registration" in sections else None
        inv_amp = _inverse(sections, "input_slm")
        setup = split_setup(session, registration, inverse, inv_amp, 4, 12.0)
        centre, _ = peak_centre(session, setup, np.array(f["centre_px"]), 24, (-1, 0, 1, 2))
        drift = float(np.hypot(*np.subtract(centre, f["centre_px"])))
        items["fourier_centre_px"] = {
            **_item(0.0, drift, drift, lim["fourier_centre_px"]),
            "then_px": list(f["centre_px"]),
            "now_px": [float(v) for v in centre],
        }
    if not items:
        raise CalibrationError(
            "check: the calibration holds none of camera, registration, fourier: nothing to check"
        )
    return CheckResult(items, dict(session.frames["check"]))


def _inverse(sections: dict[str, Any], role: str) -> np.ndarray | None:
    lut = sections.get("lut", {}).get(role)
    return None if lut is None else np.asarray(lut["inverse"])


def _fourier_flat(bench: Any, sections: dict[str, Any], inverse: np.ndarray | None) -> np.ndarray:
    """What the Fourier SLM shows for the registration: the conjugate of the measured
    wavefront when the calibration holds one (as its second registration did), else level 0
    (or the measured LUT's zero phase)."""
    shape = tuple(bench.system.fourier_shape)
    if "aberration" in sections:
        wave = aberration_phase(sections["aberration"], shape)
        return phase_levels(-wave, inverse, bench.fourier_slm.levels)
    level = 0 if inverse is None else int(inverse[0])
    return np.full(shape, level, dtype=np.int64)


def _registration(
    session: Session, cal: Any, flat: np.ndarray, spacing: int, dot: int
) -> tuple[float, float]:
    """(rms distance of the dots' images from the calibrated map, camera px; the fully-on
    frame's mean DN/s)."""
    bench = session.bench
    slm = bench.input_slm
    h, w = session.input_shape
    affine = np.asarray(cal.registration)
    levels, centres = dot_grid((h, w), spacing, dot, spacing // 2, slm.levels - 1)
    session.display(levels, flat)
    session.auto_expose(target=0.6, percentile=99.99)
    image = np.maximum(session.capture(2) - session.dark_frame(2), 0.0)
    smooth = ndimage.gaussian_filter(image, 1.0)
    beam = cal.beam()
    src = np.asarray(centres, dtype=np.float64)
    if np.isfinite(beam["waist_px"]):
        src = beam_weighted_centres(src, dot, beam["centre_px"], beam["waist_px"])
    predicted = src @ affine[:, :2].T + affine[:, 2]
    sigma = max(1.5, 0.6 * dot * float(np.sqrt(abs(np.linalg.det(affine[:, :2])))))
    level = smooth.max()
    ch, cw = image.shape
    ok = (predicted[:, 0] >= 8) & (predicted[:, 0] < ch - 8) & (predicted[:, 1] >= 8)
    ok &= predicted[:, 1] < cw - 8
    r0 = np.rint(predicted[:, 0]).astype(int).clip(0, ch - 1)
    c0 = np.rint(predicted[:, 1]).astype(int).clip(0, cw - 1)
    ok &= smooth[r0, c0] >= 0.1 * level  # the beam's edge: too little light
    if ok.sum() < 6:
        raise CalibrationError(
            f"check: only {int(ok.sum())} dots where the calibration puts them (need >= 6): "
            "the bench moved far: recalibrate (fouroptics calibrate)"
        )
    found = np.array([spot_centre(image, tuple(p), sigma) for p in predicted[ok]])
    rms = float(np.sqrt(np.mean(np.sum((found - predicted[ok]) ** 2, axis=1))))
    session.display(np.full((h, w), slm.levels - 1), flat)
    session.auto_expose(target=0.6, percentile=99.9)
    full = np.maximum(session.capture(2) - session.dark_frame(2), 0.0)
    return rms, float(full.mean() / bench.camera.exposure)
