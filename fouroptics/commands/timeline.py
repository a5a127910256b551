"""``fouroptics simulate --timeline 1h --points 7 [--recalibrate-every 10min]``: the test
images measured at evenly spaced times of a simulated bench's clock while it drifts
(:mod:`devices.simulated.drift`).

Point k is measured when the bench's clock reaches ``k T / (points - 1)`` (the clock is
advanced as idle time in between; a measurement takes bench time too: its frames' refreshes
and exposures, so ``t_s`` is the clock when the point's measurement started). The first point
is the run's own measurement. Each point: ``{t_s, accuracy (or miou and pixel_accuracy),
feature_nrmse (against the digital features), recalibrated}``.

With ``--recalibrate-every P`` the quick check (:func:`calibration.check.quick_check`) runs
whenever the clock passes a multiple of P; when it fails, the routines that re-measure what
drifted run again (:func:`calibration.run.calibrate` with the earlier calibration's LUTs,
registration and centre for the rest), their sections replace the calibration's, and the
optical model is rebuilt on it (registration, beam, camera; exposure and photometry refitted
on the reference images). Each check and recalibration is listed in ``calibration_frames``
with its frames. The bundle is not recompiled: what the compiler took from the calibration
(the Fourier centre, the aberration) stays as compiled.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class TimelineSpec:
    """``duration`` s, ``points`` (>= 2), ``every`` s between quick checks (None: never)."""

    duration: float
    points: int
    every: float | None


def parse_timeline(args: argparse.Namespace) -> TimelineSpec | None:
    """The timeline options of ``simulate`` (None without ``--timeline``).

    Raises:
        ConfigError: one line naming the option: a duration without a time unit, fewer than 2
            points, ``--points`` or ``--recalibrate-every`` without ``--timeline``,
            ``--recalibrate-every`` without a calibration file, a hardware bench.
    """
    from fouroptics.commands.check import require_simulated

    if args.timeline is None:
        for opt, value in (("--points", args.points), ("--recalibrate-every", args.recal_every)):
            if value is not None:
                raise ConfigError(f"{opt}: goes with --timeline DURATION (e.g. --timeline 1h)")
        return None
    duration = _duration(args.timeline, "--timeline")
    points = 7 if args.points is None else args.points
    if points < 2:
        raise ConfigError(f"--points: got {points}; a timeline needs >= 2 points")
    every = None
    if args.recal_every is not None:
        every = _duration(args.recal_every, "--recalibrate-every")
        if args.calibration in (None, "truth"):
            raise ConfigError(
                "--recalibrate-every: needs --calibration CAL.h5 (a measured calibration to "
                "check and renew)"
            )
    require_simulated(args.bench, "--timeline")
    return TimelineSpec(duration, points, every)


def _duration(text: str, option: str) -> float:
    """A timeline option's duration in s; it needs its unit (a bare number is refused, as
    :func:`fouroptics.units.parse_quantity`'s message would offer "SI number" for it).

    Raises:
        ConfigError: one line naming ``option``."""
    from fouroptics.units import parse_quantity

    try:
        float(text)
    except ValueError:
        return parse_quantity(text, "time", option)
    raise ConfigError(
        f"{option}: {text!r} has no time unit; write a duration such as '1h', '10min' or '30 s'"
    )


def run_timeline(
    spec: TimelineSpec,
    bench: Any,
    cal: Any,
    make_model: Callable[[Any], Any],
    model: Any,
    measure: Callable[[Any], np.ndarray],
    score: Callable[[np.ndarray], dict[str, float]],
    first: tuple[float, np.ndarray],
    bench_path: str | Path,
) -> dict[str, Any]:
    """The timeline (see the module).

    Args:
        spec: the options. bench: the simulated bench (its clock moves).
        cal: the CalibrationSet the run uses (checked and renewed with ``every``).
        make_model: builds an OpticalModel on a calibration. model: the run's own.
        measure: features of the test images through a model.
        score: ``{"accuracy" ...: fraction, "feature_nrmse": float}`` of measured features.
        first: (clock at the start, features) of the run's own measurement: the first point.
        bench_path: the bench YAML (recorded in renewed calibrations).

    Returns:
        ``{"timeline": [...], "calibration_frames": [...]}`` (the second only with ``every``).
    """
    from calibration.check import quick_check
    from calibration.run import calibrate

    times = np.linspace(0.0, spec.duration, spec.points)
    points = [{"t_s": float(first[0]), **score(first[1]), "recalibrated": False}]
    frames: list[dict[str, Any]] = []
    checks = [] if spec.every is None else list(np.arange(spec.every, spec.duration + 1e-9,
                                                          spec.every))  # fmt: skip
    for target in times[1:]:
        renewed = False
        while checks and checks[0] <= target:
            bench.advance(max(0.0, checks.pop(0) - bench.time))
            t_check = bench.time
            result = quick_check(bench, cal)
            entry: dict[str, Any] = {"t_s": t_check, "check_frames": result.frames,
                                     "drifted": result.failed, "routines": []}  # fmt: skip
            if not result.ok:
                fresh, _ = calibrate(bench, result.routines, bench_path=bench_path, previous=cal)
                cal = dataclasses.replace(cal, sections={**cal.sections, **fresh.sections})
                model = make_model(cal)
                entry["routines"] = list(result.routines)
                entry["frames"] = fresh.frames
                renewed = True
            frames.append(entry)
        bench.advance(max(0.0, float(target) - bench.time))
        t0 = bench.time
        feats = measure(model)
        points.append({"t_s": t0, **score(feats), "recalibrated": renewed})
    out: dict[str, Any] = {"timeline": points}
    if spec.every is not None:
        out["calibration_frames"] = frames
    return out


def timeline_plot(
    timeline: list[dict[str, Any]], digital: dict[str, float], metric: str, path: Path
) -> Path:
    """Accuracy (or mIoU) against bench time (min), the digital reference dashed, points
    measured after a recalibration filled."""
    import matplotlib.pyplot as plt

    from fouroptics.report import save_figure

    t = np.array([p["t_s"] for p in timeline]) / 60.0
    v = 100 * np.array([p[metric] for p in timeline])
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.plot(t, v, "-", color="C0", label="optical")
    renewed = np.array([p["recalibrated"] for p in timeline])
    ax.plot(t[~renewed], v[~renewed], "o", mfc="white", color="C0")
    if renewed.any():
        ax.plot(t[renewed], v[renewed], "o", color="C0", label="after a recalibration")
    ax.axhline(100 * digital[metric], ls="--", color="k", label="digital")
    ax.set_xlabel("bench time (min)")
    ax.set_ylabel(f"{metric} (%)")
    ax.legend(loc="lower left")
    ax.set_title("accuracy while the bench drifts")
    return save_figure(fig, path)
