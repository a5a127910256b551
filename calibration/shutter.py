"""Dark frames on any bench: how the light is blocked (the bench YAML's ``shutter``,
:mod:`devices.config.shutter`) and, where each block costs a person's step, a dark model.

* ``auto``: ``bench.laser_on = False`` (a simulated laser; a driver that offers the attribute).
* ``driver``: the shutter driver's ``block()`` / ``unblock()``.
* ``manual``: the user blocks and unblocks the beam when asked: by ``session.answerer``
  (a callable ``answer(blocked: bool)``), else a SimulatedBench's own
  ``answer_manual_shutter``, else a prompt on the terminal; with no terminal the routine is
  refused in one line.
* ``steer``: no shutter: a steep blazed grating on the Fourier SLM sends the light off the
  sensor (the SLM's unmodulated zero order stays). How dark that is gets measured once
  (:func:`steer_extinction`) and the routine is refused when it is not dark enough.

With ``manual`` and ``steer``, :func:`dark_frame_at` measures the dark signal once per
session at a ladder of exposures and fits it per pixel as ``a + b t`` (EMVA 1288: black level
plus dark current, both linear in the exposure), so auto-exposure and the routines' dark
subtraction need no further steps; the camera routine's photon-transfer darks (their
variance) take one more block.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from calibration.errors import CalibrationError
from calibration.patterns import blazed_levels

#: a calibration.session.Session (not imported: it imports this module)
Session = Any

#: the steered light's mean rate over the lit frame's, above which ``steer`` is refused (the
#: camera routine's photon-transfer darks: ``STEER_LIMIT_CAMERA``, their variance is the noise)
STEER_LIMIT = 1e-3
STEER_LIMIT_CAMERA = 1e-4
#: the steering grating's period, Fourier-SLM pixels (the steepest blazed grating)
STEER_PERIOD = 3.0
#: the dark model's exposures: this many, geometric from the shortest to ``DARK_LADDER_MAX``
DARK_LADDER = 5
DARK_LADDER_MAX = 1.0  # s


def shutter_mode(bench: Any) -> str:
    """The bench's shutter mode ("auto" when its YAML names none)."""
    cfg = getattr(bench, "shutter", None)
    return "auto" if cfg is None else str(cfg.mode)


def terminal_answerer(routine: str) -> Callable[[bool], None]:
    """Ask the user on the terminal to block or unblock the beam (Enter when done).

    Raises:
        CalibrationError: stdin is not a terminal (no one to ask).
    """
    if not sys.stdin.isatty():
        raise CalibrationError(
            f"{routine}: shutter: manual needs the beam blocked by hand, but stdin is not a "
            "terminal: run calibrate in a terminal, or give the bench a shutter driver "
            "(shutter: {driver: 'module:Class'})"
        )

    def answer(blocked: bool) -> None:
        what = "BLOCK the beam (dark frames)" if blocked else "UNBLOCK the beam"
        print(f"calibrate {routine}: {what}, then press Enter", file=sys.stderr, flush=True)
        sys.stdin.readline()

    return answer


def _answerer(session: Session) -> Callable[[bool], None]:
    given = getattr(session, "answerer", None)
    if given is not None:
        return given
    own = getattr(session.bench, "answer_manual_shutter", None)
    if own is not None and getattr(session.bench, "simulated", False):
        return own
    return terminal_answerer(session.routine)


@contextmanager
def blocked(session: Session) -> Iterator[None]:
    """Block the light for the body of the ``with``, then restore it (each use of a manual
    shutter counts one step under the routine in ``session.manual_steps``)."""
    bench = session.bench
    mode = shutter_mode(bench)
    if mode == "auto":
        if not hasattr(bench, "laser_on"):
            raise CalibrationError(
                f"{session.routine}: dark frames need the light blocked, but bench "
                f"{getattr(bench, 'name', '?')!r} has no laser_on shutter attribute: set "
                "shutter: manual (or steer, or a driver) in its YAML"
            )
        before = bench.laser_on
        bench.laser_on = False
        try:
            yield
        finally:
            bench.laser_on = before
    elif mode == "driver":
        dev = bench.shutter.device
        dev.block()
        try:
            yield
        finally:
            dev.unblock()
    elif mode == "manual":
        answer = _answerer(session)
        steps = session.__dict__.setdefault("manual_steps", {})
        steps[session.routine] = steps.get(session.routine, 0) + 1
        answer(True)
        try:
            yield
        finally:
            answer(False)
    else:  # steer
        ext = steer_extinction(session)
        limit = STEER_LIMIT_CAMERA if session.routine == "camera" else STEER_LIMIT
        if ext > limit:
            raise CalibrationError(
                f"{session.routine}: shutter: steer leaves {ext:.2g} of the light on the camera "
                f"(limit {limit:g}; the Fourier SLM's zero order and its first order "
                "still on the sensor): block the beam by hand (shutter: manual) or add a shutter"
            )
        with _steered(session):
            yield


@contextmanager
def _steered(session: Session) -> Iterator[None]:
    """The Fourier SLM shows the steering grating for the body, then its previous pattern."""
    slm = session.bench.fourier_slm
    before = np.asarray(slm.pattern)
    period = (STEER_PERIOD, STEER_PERIOD)
    inverse = getattr(session, "inverse_phase", None)
    grating = blazed_levels(session.fourier_shape, period, inverse, slm.levels)
    session.display(None, grating)
    try:
        yield
    finally:
        session.display(None, before)


def steer_extinction(session: Session) -> float:
    """The light a steering grating leaves on the camera over the light without it (mean
    rates, from frames at two exposures each: the dark signal's offset cancels, its dark
    current counts as light, so this is an upper bound). Measured once per session (8
    frames); ``session.steer_extinction`` keeps it."""
    got = session.__dict__.get("steer_extinction")
    if got is not None:
        return float(got)
    cam = session.bench.camera
    t0 = float(cam.exposure)
    lo, hi = session.exposure_limits
    t1, t2 = (t0, min(hi, 2 * t0)) if 2 * t0 <= hi else (max(lo, t0 / 2), t0)

    def rate() -> float:
        session.set_exposure(t1)
        a = session.capture(2).mean()
        session.set_exposure(t2)
        return float((session.capture(2).mean() - a) / (t2 - t1))

    lit = rate()
    with _steered(session):
        dim = rate()
    session.set_exposure(t0)
    ext = max(dim, 0.0) / lit if lit > 0 else float("inf")
    session.steer_extinction = ext
    return ext


def dark_frame_at(session: Session, exposure: float, n_frames: int) -> np.ndarray:
    """The mean dark frame (float64 DN, camera shape) at ``exposure`` seconds: captured with
    the light blocked on ``auto`` and ``driver`` shutters; on ``manual`` and ``steer`` from the
    session's per-pixel dark model (:func:`dark_model`, one block per session)."""
    if shutter_mode(session.bench) in ("auto", "driver"):
        with blocked(session):
            return session.capture(n_frames)
    a, b = dark_model(session)
    return a + b * exposure


def dark_model(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel dark offset ``a`` (DN) and rate ``b`` (DN/s), least squares over
    :data:`DARK_LADDER` exposures (2 frames each) taken in one block of the light; the
    camera's exposure is restored. Kept as ``session.dark_model``."""
    got = session.__dict__.get("dark_model")
    if got is not None:
        return got
    lo, hi = session.exposure_limits
    top = max(lo, min(hi, DARK_LADDER_MAX))
    ladder = np.unique(np.geomspace(lo, top, DARK_LADDER))
    before = float(session.bench.camera.exposure)
    frames = []
    with blocked(session):
        for t in ladder:
            session.set_exposure(float(t))
            frames.append(session.capture(2))
    session.set_exposure(before)
    stack = np.stack(frames).reshape(len(ladder), -1)
    if len(ladder) == 1:
        model = (stack[0].reshape(session.camera_shape), np.zeros(session.camera_shape))
    else:
        design = np.column_stack([np.ones(len(ladder)), ladder])
        coef, *_ = np.linalg.lstsq(design, stack, rcond=None)
        model = (coef[0].reshape(session.camera_shape), coef[1].reshape(session.camera_shape))
    session.dark_model = model
    return model
