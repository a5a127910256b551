"""Run the calibration routines in order on one bench and collect a :class:`CalibrationSet`.

Order: camera (EMVA 1288), LUTs (input amplitude and, with a Fourier camera, its phase
coupling; Fourier phase and its regions), the Fourier SLM's crosstalk (through its LUT; phase
Fourier SLMs), registration (then the input SLM's gamma map through it), Fourier mapping,
aberration (then the registration again, through the conjugate of the measured wavefront);
later routines use earlier results when present (the input LUT shapes the Fourier routine's
pattern, the registration places its camera window, the Fourier LUT blazes its gratings, the
Fourier centre centres the aberration's basis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from calibration.aberration import measure_aberration
from calibration.calset import CalibrationSet
from calibration.camera import calibrate_camera
from calibration.coupling import measure_phase_coupling
from calibration.crosstalk import measure_crosstalk
from calibration.errors import CalibrationError
from calibration.fingerprint import bench_fingerprint
from calibration.fit_patterns import static_refusals
from calibration.fourier import fourier_mapping
from calibration.limits import out_of_limits
from calibration.lut import amplitude_lut, fourier_phase_lut, inverse_amplitude_lut
from calibration.panel import input_panel
from calibration.patterns import phase_levels
from calibration.phase_contrast import input_phase_lut
from calibration.phase_input import fourier_phase_lut_fringes
from calibration.registration import register
from calibration.session import Session
from calibration.visibility import input_seen, unseen_reason
from fouroptics.io.digest import file_sha256
from fouroptics.optics.panel import panel_map
from fouroptics.optics.zernike import aberration_phase

ROUTINES = ("camera", "lut", "crosstalk", "registration", "fourier", "aberration")
#: rough frames per routine (captures), for progress bars
EXPECTED_FRAMES = {
    "camera": 115,
    "lut": 330,
    "crosstalk": 260,
    "registration": 30,
    "fourier": 145,
    "aberration": 145,
}


def parse_only(text: str | None) -> tuple[str, ...]:
    """``"camera,lut"`` -> ("camera", "lut"); None -> every routine; an empty list is refused
    (it does not mean "all": omit ``--only``)."""
    if text is None:
        return ROUTINES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise CalibrationError(
            f"--only: got {text!r}; name routines ({', '.join(ROUTINES)}) or omit --only for all"
        )
    bad = [n for n in names if n not in ROUTINES]
    if bad:
        raise CalibrationError(f"--only: unknown routine(s) {bad}; allowed: {', '.join(ROUTINES)}")
    return tuple(n for n in ROUTINES if n in names)


def calibrate(
    bench: Any,
    only: tuple[str, ...] = ROUTINES,
    bench_path: str | Path | None = None,
    on_routine: Callable[[str], Callable[[int], None] | None] | None = None,
    lut_step: int = 4,
    seed: int | None = None,
    previous: CalibrationSet | None = None,
    fourier_period: int | None = None,
    skipped: dict[str, str] | None = None,
) -> tuple[CalibrationSet, dict[str, Any]]:
    """Run the selected routines; returns the CalibrationSet and the result objects by name.

    Args:
        bench: a Bench (simulated or hardware); only display, capture and exposure are used.
        only: routines to run, a subset of :data:`ROUTINES`.
        bench_path: the bench YAML (its name and hash go into the file).
        on_routine: called with each routine's name before it runs; may return a progress
            callback ``f(n_frames)``.
        lut_step: gray-level step of the LUT measurements.
        seed: the seed ``bench`` was loaded with when it overrode the YAML's (``--seed``);
            recorded, with the rest of :func:`~calibration.calset.bench_fingerprint`, so the
            calibration is refused on another draw of the bench.
        previous: an earlier calibration of the bench whose LUTs, registration and Fourier
            centre the selected routines use where they are not rerun (a recalibration of
            what drifted: :mod:`calibration.check`).
        fourier_period: the Fourier routine's input grating period (input pixels; None:
            chosen from the SLMs, :func:`calibration.fit_patterns.fourier_pattern`); one that
            does not fit is refused before any frame.
        skipped: a dict to fill, routine -> the one line why it cannot run on this bench,
            instead of refusing the whole run (``--only`` omitted: every routine the bench
            supports runs); None: the first routine that cannot run raises.
    """
    session = Session(bench)
    only = _runnable(session, only, fourier_period, skipped)
    guard = _guard(skipped)
    results: dict[str, Any] = {}
    sections: dict[str, Any] = {}

    def begin(name: str) -> None:
        session.progress = on_routine(name) if on_routine is not None else None

    if "camera" in only:
        with guard("camera"):
            begin("camera")
            results["camera"] = calibrate_camera(session)
            sections["camera"] = results["camera"].to_payload()
    if "lut" in only:
        with guard("lut"):
            begin("lut")
            luts = {}
            for role in ("input_slm", "fourier_slm"):
                slm = getattr(bench, role)
                if slm.modulation == "phase" and role == "fourier_slm":
                    if bench.input_slm.modulation == "phase":  # a grating's +-1 orders' fringes
                        luts[role] = fourier_phase_lut_fringes(session, step=2 * lut_step)
                    else:  # every other level of the step: the frames go to the panel's regions
                        luts[role] = fourier_phase_lut(session, step=2 * lut_step)
                elif slm.modulation != "phase":
                    luts[role] = amplitude_lut(session, role, step=2 * lut_step)
            if bench.input_slm.modulation == "phase":  # through the Zernike filter, shifted by
                # the Fourier SLM's measured LUT
                fourier = luts.get("fourier_slm")
                luts["input_slm"] = input_phase_lut(
                    session,
                    step=2 * lut_step,
                    inverse_phase=None if fourier is None else fourier.inverse,
                )
            inp = luts.get("input_slm")
            if (
                inp is not None
                and inp.modulation != "phase"
                and getattr(bench, "fourier_camera", None) is not None
            ):
                # the amplitude input SLM's phase coupling (Young's slits on the Fourier camera):
                # its inverse LUT then picks the level whose complex field is nearest
                inp.coupling = measure_phase_coupling(session, inp.curve).curve
                inp.inverse = inverse_amplitude_lut(inp.curve, inp.coupling)
            results["lut"] = luts
            sections["lut"] = {k: v.to_payload() for k, v in luts.items()}
    luts = results.get("lut", {})  # the later routines' patterns go through the measured LUTs
    inverse = {
        "inverse_phase": luts["fourier_slm"].inverse if "fourier_slm" in luts else None,
        "inverse_amplitude": luts["input_slm"].inverse
        if "input_slm" in luts and luts["input_slm"].modulation != "phase"
        else None,
    }
    input_phase = (
        luts["input_slm"].inverse
        if luts.get("input_slm") is not None and luts["input_slm"].modulation == "phase"
        else None
    )
    before = _previous(previous)
    for key, role in (("inverse_phase", "fourier_slm"), ("inverse_amplitude", "input_slm")):
        if inverse[key] is None:
            inverse[key] = before.get(role)
    if "crosstalk" in only and bench.fourier_slm.modulation == "phase":  # through its LUT
        with guard("crosstalk"):
            begin("crosstalk")
            lut = luts.get("fourier_slm")
            if lut is None:
                raise CalibrationError(
                    "crosstalk: needs the Fourier SLM's LUT: --only lut,crosstalk"
                )
            results["crosstalk"] = measure_crosstalk(session, lut.curve, lut.inverse)
            sections["crosstalk"] = results["crosstalk"].to_payload()
    if "registration" in only:
        with guard("registration"):
            begin("registration")
            held = None if previous is None else previous.sections.get("aberration")
            conjugate = None  # through an earlier wavefront's conjugate when it is not remeasured
            if held is not None and "aberration" not in only:
                wave = aberration_phase(held, bench.system.fourier_shape)
                conjugate = phase_levels(-wave, inverse["inverse_phase"], bench.fourier_slm.levels)
            results["registration"] = register(
                session,
                fourier_levels=conjugate,
                inverse_phase=inverse["inverse_phase"],
                inverse_input=input_phase,
            )
            sections["registration"] = results["registration"].to_payload()
            inp = results.get("lut", {}).get("input_slm")
            if (
                inp is not None and inp.modulation != "phase"
            ):  # the input SLM's gamma across its panel, through the registration
                inp.panel, raw = input_panel(session, inp.curve, results["registration"].affine)
                inp.raw.update(raw)
                sections["lut"]["input_slm"] = inp.to_payload()
    affine = results["registration"].affine if "registration" in results else None
    affine = before.get("registration") if affine is None else affine
    if "fourier" in only:
        with guard("fourier"):
            begin("fourier")
            results["fourier"] = fourier_mapping(
                session, registration=affine, period=fourier_period, **inverse
            )
            sections["fourier"] = results["fourier"].to_payload()
    centre = before.get("centre_px")
    if "aberration" in only:
        with guard("aberration"):
            begin("aberration")
            results["aberration"] = measure_aberration(
                session,
                centre_px=results["fourier"].centre_px if "fourier" in results else centre,
                registration=affine,
                panel=getattr(luts.get("fourier_slm"), "panel", None),
                **inverse,
            )
            sections["aberration"] = results["aberration"].to_payload()
            if "registration" in results:  # again, through the conjugate of the wavefront: the
                # coma of the Fourier path displaces every dot's image (0.08 px on the misaligned
                # bench), and the compiled masks carry that conjugate; through the measured
                # panel map too, as the compiled masks are: without it the panel's 3 % spread
                # on the conjugate's ~0.5 rad moved every dot 0.16 px (seed 2034 of
                # misaligned_noisy.yaml: 0.157 -> 0.062 px against the true map)
                shape = bench.system.fourier_shape
                wave = aberration_phase(sections["aberration"], shape)
                panel = getattr(luts.get("fourier_slm"), "panel", None)
                scale = None if panel is None else panel_map(panel, shape)
                levels = phase_levels(
                    -wave, inverse["inverse_phase"], bench.fourier_slm.levels, scale
                )
                results["registration"] = register(
                    session,
                    fourier_levels=levels,
                    name="registration.corrected",
                    inverse_phase=inverse["inverse_phase"],
                    inverse_input=input_phase,
                )
                sections["registration"] = results["registration"].to_payload()
    cal = CalibrationSet(
        bench_name=str(getattr(bench, "name", "bench")),
        bench_path="" if bench_path is None else str(bench_path),
        bench_sha256="" if bench_path is None else file_sha256(bench_path),
        sections=sections,
        frames={k: dict(v) for k, v in session.frames.items()},
        system_yaml=bench.system.to_yaml(),
        fingerprint=bench_fingerprint(bench, bench_path, seed),
    )
    cal.out_of_limits = out_of_limits(cal.sections)
    return cal, results


def _runnable(
    session: Session,
    only: tuple[str, ...],
    fourier_period: int | None,
    skipped: dict[str, str] | None,
) -> tuple[str, ...]:
    """The routines of ``only`` that can run: those the bench's geometry or the camera's view
    rules out are refused (``skipped`` None) or recorded in ``skipped`` and left out."""
    bench = session.bench
    reasons = static_refusals(bench, fourier_period)
    if skipped is None:
        for name in only:  # a Fourier SLM that is not phase skips crosstalk quietly
            if name in reasons and (name != "crosstalk" or bench.fourier_slm.modulation == "phase"):
                raise CalibrationError(reasons[name])
        return only
    skipped.update({n: reasons[n] for n in only if n in reasons})
    need_input = [n for n in only if n != "camera" and n not in reasons]
    if need_input:
        seen, numbers = input_seen(session)
        if not seen:
            skipped.update({n: unseen_reason(n, numbers) for n in need_input})
    return tuple(n for n in only if n not in skipped)


def _guard(skipped: dict[str, str] | None) -> Callable[[str], Any]:
    """A context manager per routine: with ``skipped`` a dict, a routine's
    :class:`CalibrationError` is recorded there (and the run goes on), else it propagates."""

    @contextmanager
    def guard(name: str) -> Iterator[None]:
        try:
            yield
        except CalibrationError as exc:
            if skipped is None:
                raise
            skipped[name] = str(exc)

    return guard


def _previous(cal: CalibrationSet | None) -> dict[str, Any]:
    """An earlier calibration's inverse LUTs (by SLM role), ``registration`` and Fourier
    ``centre_px``, those it holds."""
    out: dict[str, Any] = {}
    if cal is None:
        return out
    for role, lut in cal.sections.get("lut", {}).items():
        out[role] = lut["inverse"]
    if "registration" in cal.sections:
        out["registration"] = cal.registration
    if "fourier" in cal.sections:
        out["centre_px"] = cal.fourier["centre_px"]
    return out
