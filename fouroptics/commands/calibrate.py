"""``fouroptics calibrate``: measure a bench (camera, SLM LUTs, registration, Fourier SLM).

Writes DIR/calibration.h5 (the CalibrationSet), DIR/calibration.json (every quantity, the
frames each routine displayed and captured; on a simulated bench each quantity as
``{"measured", "true", "error"}``) and figures. The routines see only display, capture and
exposure; the truth of a simulated bench is read here, after they ran, for the report.
Nothing is written until every routine has succeeded. Quantities out of their limits
(:mod:`calibration.limits`, judged without the truth) print one ``warning:`` line each, are
listed under ``out_of_limits`` in calibration.json and in the file, and make the verb exit
:data:`EXIT_OUT_OF_LIMITS` (3: completed, but recalibrate after fixing the bench).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from calibration.limits import linearised_rms as _linearised_rms
from fouroptics.report import prepare_out, refuse_existing, save_figure, write_json

#: the files a calibration writes into --out (a folder holding one is refused unless --force)
OUTPUTS = ("calibration.h5", "calibration.json", "ptc.png", "luts.png", "registration.png",
           "fourier.png")  # fmt: skip
#: exit status of a calibration that completed (files written) with quantities out of limits
EXIT_OUT_OF_LIMITS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", required=True, help="bench YAML (simulated or hardware)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated subset of camera,lut,registration,fourier,aberration",
    )
    parser.add_argument("--seed", type=int, default=None, help="override the bench's seed")
    parser.add_argument(
        "--fourier-period",
        type=int,
        default=None,
        help="the Fourier routine's input grating period, input pixels (default: the shortest "
        "that fits the SLMs; one that does not fit is refused)",
    )
    parser.add_argument("--threads", type=int, default=None, help="FFT/BLAS threads")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument(
        "--force", action="store_true", help="overwrite a calibration an earlier run left in --out"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="quick check of --calibration against the bench (<= 50 frames): check.json; exit "
        "0 within limits, 3 when a recalibration is needed (fouroptics/commands/check.py)",
    )
    parser.add_argument("--calibration", default=None, help="with --check: the calibration.h5")
    parser.add_argument(
        "--at",
        default=None,
        help="with --check: advance a simulated bench's clock first: '1h', '10 min' or seconds",
    )


def _rel(measured: float, true: float) -> dict[str, float]:
    return {"measured": measured, "true": true, "error": measured / true - 1.0 if true else None}


def _finite_or_none(value: Any) -> float | None:
    """The first element of ``value`` as a float, or None (absent or not finite)."""
    v = float(np.ravel(value)[0]) if value is not None else float("nan")
    return v if np.isfinite(v) else None


def compare_with_truth(bench: Any, results: dict[str, Any]) -> dict[str, Any]:
    """``{"measured", "true", "error"}`` per quantity (relative errors for camera numbers and
    the scale, absolute for the rest) from a simulated bench's hidden truth."""
    truth = bench.truth()
    out: dict[str, Any] = {}
    if "camera" in results:
        c, t = results["camera"], truth["camera"]
        sat = min(t["full_well"], (bench.camera.max_value - t["black_level"]) / t["gain"])
        out["camera"] = {
            "gain": _rel(c.gain, t["gain"]),
            "read_noise": _rel(c.read_noise, t["read_noise"]),
            # below the ADC's quantisation the read noise is unresolved: at most this (e-)
            "read_noise_unresolved_below_e": _finite_or_none(c.raw.get("read_noise_bound_e")),
            "full_well": _rel(c.full_well, sat),
            "dark_current": _rel(c.dark_current, t["dark_current"]),
            "dsnu": _rel(c.dsnu, t["dsnu"]),
            "prnu": _rel(c.prnu, t["prnu"]),
            "black_level": _rel(c.black_level, t["black_level"]),
        }
    if "lut" in results:
        out["lut"] = {}
        for role, r in results["lut"].items():
            true_curve = np.asarray(truth[role]["response"], float)
            n = len(r.curve)
            if r.modulation == "phase":
                true_curve = true_curve - true_curve[0]
                if truth[role].get("panel") is not None:
                    true_curve = true_curve * _centre(truth[role]["panel"])
                target = 2 * np.pi * np.arange(n) / n

                m = _linearised_rms(r.curve, r.inverse, target)
                tr = _linearised_rms(true_curve, r.inverse, target)
                out["lut"][role] = {
                    "phase_rms_error_rad": {"measured": m, "true": tr, "error": tr - m},
                    "phase_range_rad": {
                        "measured": float(r.curve[-1]),
                        "true": float(true_curve[-1]),
                        "error": float(r.curve[-1] - true_curve[-1]),
                    },
                    "curve_rms_error_rad": float(np.sqrt(np.mean((r.curve - true_curve) ** 2))),
                }
            else:
                true_curve = true_curve / true_curve.max()
                out["lut"][role] = {
                    "amplitude_rms_error": float(np.sqrt(np.mean((r.curve - true_curve) ** 2))),
                    "amplitude_min": _rel(float(r.curve[0]), float(true_curve[0])),
                }
    if "lut" in results:  # by region of the panel, and the input SLM's phase coupling
        out["lut"].update(_regional_against_truth(results["lut"], truth))
    if "crosstalk" in results:  # graded by the field a double-phase pattern realises
        from calibration.crosstalk import CROSSTALK_LIMIT, double_phase_field_error
        from fouroptics.optics.pixels import fringing_kernel

        x, t = results["crosstalk"], truth["fourier_slm"]
        true_x = (t["crosstalk"]["kernel"], t["crosstalk"]["domain"])
        curve = np.asarray(t["response"], float)
        err = double_phase_field_error(curve, (x.kernel, x.domain), true_x)
        nominal = (fringing_kernel(t["fringing"]), "phase")
        out["crosstalk"] = {
            "kernel": {"measured": x.kernel, "true": true_x[0], "error": err},
            "domain": {"measured": x.domain, "true": true_x[1], "error": x.domain != true_x[1]},
            "profile_error": double_phase_field_error(curve, nominal, true_x),
            "limit": CROSSTALK_LIMIT,
        }
    if "registration" in results:
        r = results["registration"]
        tm = np.asarray(truth["registration"])
        h, w = bench.system.input_shape
        rr, cc = np.mgrid[:h, :w]
        pts = np.stack([rr.ravel(), cc.ravel(), np.ones(h * w)])
        err = float(np.sqrt(np.mean(np.sum(((r.affine - tm) @ pts) ** 2, axis=0))))
        pitch = bench.system.input_pitch
        true_centre = [
            s // 2 + b / pitch for s, b in zip((h, w), truth["beam_centre"], strict=True)
        ]
        waist = truth["beam_waist"]
        out["registration"] = {
            "residual_px": {"measured": r.residual_px, "true": 0.0, "error": err},
            "affine": {"measured": r.affine, "true": tm, "error": r.affine - tm},
            "beam_centre_px": {
                "measured": list(r.beam_centre_px),
                "true": true_centre,
                "error": float(np.hypot(*np.subtract(r.beam_centre_px, true_centre))),
            },
            "beam_waist_m": _rel(r.beam_waist_px * pitch, float("inf") if waist is None else waist),
        }
    if "fourier" in results:
        f = results["fourier"]
        tc = [float(v) for v in truth["fourier_centre_px"]]
        out["fourier"] = {
            "centre_error_px": {
                "measured": list(f.centre_px),
                "true": tc,
                "error": float(np.hypot(*np.subtract(f.centre_px, tc))),
            },
            "scale_error": _rel(f.scale, float(truth["fourier_scale"])),
            "rotation_rad": {"measured": f.rotation_rad, "true": 0.0, "error": f.rotation_rad},
        }
        if f.kspace_to_camera is not None:
            true_sys = truth["system"]
            s = (
                true_sys["wavelength"]
                * true_sys["f2"]
                / (bench.system.fourier_pitch * bench.system.camera_pitch)
            )
            lin = np.asarray(truth["camera_affine"]["matrix"]) * s
            got = f.kspace_to_camera[:, :2]
            out["fourier"]["kspace_to_camera"] = {
                "measured": f.kspace_to_camera,
                "true_linear": lin,
                "error": float(np.linalg.norm(got - lin) / np.linalg.norm(lin)),
            }
    if "aberration" in results:
        out["aberration"] = aberration_against_truth(bench, results["aberration"], truth)
    return out


def _centre(panel: np.ndarray) -> float:
    """A panel map's value at the panel's centre (the mean of its central 2 x 2 pixels)."""
    p = np.asarray(panel, float)
    h, w = p.shape
    return float(p[(h - 1) // 2 : h // 2 + 1, (w - 1) // 2 : w // 2 + 1].mean())


def _regional_against_truth(luts: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """``panel_<role>``: the response by region's rms error (measured map) beside the error
    a uniform response leaves (``uniform``); ``phase_coupling``: the input SLM's."""
    from calibration.coupling import coupling_error
    from calibration.limits import LIMITS
    from calibration.panel import panel_error

    out: dict[str, Any] = {}
    for role, r in luts.items():
        t = truth[role]
        if r.panel is None and t.get("panel") is None:
            continue
        key = "lut_panel_phase" if r.modulation == "phase" else "lut_panel_amplitude"
        args = (np.asarray(t["response"]), t.get("panel"), r.modulation)
        out[f"panel_{role}"] = {
            "measured": None if r.panel is None else np.asarray(r.panel).tolist(),
            "true": None if t.get("panel") is None else float(np.std(t["panel"])),
            "error": panel_error(r.curve, r.panel, *args),
            "uniform": panel_error(r.curve, None, *args),
            "limit": LIMITS[key].value,
        }
        if r.modulation != "phase" and (
            r.coupling is not None or t.get("phase_coupling") is not None
        ):
            true = t.get("phase_coupling")
            true = np.zeros(len(r.curve)) if true is None else np.asarray(true)
            amp = np.asarray(t["response"]) / np.max(t["response"])
            out["phase_coupling"] = {
                "measured": None if r.coupling is None else float(np.ptp(r.coupling)),
                "true": float(np.ptp(true)),
                "error": coupling_error(r.coupling, amp, true),
                "uncalibrated": coupling_error(None, amp, true),
                "limit": LIMITS["phase_coupling"].value,
            }
    return out


def aberration_against_truth(bench: Any, result: Any, truth: dict[str, Any]) -> dict[str, Any]:
    """Per-term measured / true coefficients (rad) and the residual wavefront: rms (rad) over
    the unit disk of the true basis (the panel's inscribed circle about the true axis: the lit
    Fourier SLM) of the true minus the measured wavefront, piston and tilts removed (they do
    not change an image), beside the true wavefront's own rms there."""
    from fouroptics.optics import zernike

    t = truth["aberration"]
    shape = tuple(bench.system.fourier_shape)
    y, x = zernike.pixel_coordinates(shape, t["centre_px"], t["radius_px"])
    disk = (y**2 + x**2 <= 1.0) & np.ones(shape, bool)
    true_w = zernike.slm_wavefront(t["coefficients"], shape, t["centre_px"], t["radius_px"])
    got_w = zernike.slm_wavefront(result.by_term, shape, result.centre_px, result.radius_px)
    low = np.stack([np.ones(int(disk.sum())), np.broadcast_to(y, shape)[disk],
                    np.broadcast_to(x, shape)[disk]], axis=1)  # fmt: skip

    def rms(w: np.ndarray) -> float:
        v = w[disk] - low @ np.linalg.lstsq(low, w[disk], rcond=None)[0]
        return float(np.sqrt(np.mean(v**2)))

    terms = {
        name: {
            "measured": float(m),
            "true": float(t["coefficients"].get(name, 0.0)),
            "error": float(m - t["coefficients"].get(name, 0.0)),
        }
        for name, m in result.by_term.items()
    }
    return {
        "terms_rad": terms,
        "residual_rms_rad": {
            "measured": rms(true_w - got_w),
            "true": 0.0,
            "error": rms(true_w - got_w),
            "uncorrected": rms(true_w),
        },
    }


def measured_summary(results: dict[str, Any]) -> dict[str, Any]:
    """The measured quantities alone (any bench)."""
    out: dict[str, Any] = {}
    if "camera" in results:
        out["camera"] = results["camera"].summary()
    if "lut" in results:
        out["lut"] = {
            role: {"modulation": r.modulation, "range": float(r.curve[-1] - r.curve[0])}
            for role, r in results["lut"].items()
        }
    if "crosstalk" in results:
        out["crosstalk"] = {
            "kernel": results["crosstalk"].kernel,
            "domain": results["crosstalk"].domain,
        }
    if "registration" in results:
        r = results["registration"]
        out["registration"] = {
            "affine": r.affine,
            "residual_px": r.residual_px,
            "beam_centre_px": list(r.beam_centre_px),
            "beam_waist_px": r.beam_waist_px,
        }
    if "fourier" in results:
        f = results["fourier"]
        out["fourier"] = {
            "centre_px": list(f.centre_px),
            "scale": f.scale,
            "rotation_rad": f.rotation_rad,
            "kspace_to_camera": f.kspace_to_camera,
        }
    if "aberration" in results:
        a = results["aberration"]
        out["aberration"] = {
            "coefficients_rad": a.by_term,
            "centre_px": list(a.centre_px),
            "radius_px": a.radius_px,
        }
    return out


def run(args: argparse.Namespace) -> int:
    from fouroptics.commands.inputs import check_threads

    check_threads(args.threads)
    if args.check:
        from fouroptics.commands.check import run_check

        return run_check(args)
    if args.calibration is not None or args.at is not None:
        from fouroptics.errors import ConfigError

        raise ConfigError("--calibration and --at go with --check")
    refuse_existing(args.out, OUTPUTS, "a calibration", args.force)
    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
    from tqdm import tqdm

    from calibration import plots
    from calibration.run import EXPECTED_FRAMES, calibrate, parse_only
    from devices.config import load_bench
    from devices.simulated.bench import SimulatedBench
    from fouroptics.progress import show_bars

    only = parse_only(args.only)
    # --only omitted: every routine the bench supports runs, the others are skipped with why
    skipped: dict[str, str] | None = {} if args.only is None else None
    bench_path = Path(args.bench)
    bars: list[Any] = []

    def on_routine(name: str):
        for bar in bars:  # the previous routine completed: its bar ends at its total
            finish_bar(bar)
        bars.clear()
        if not show_bars(not args.no_progress):
            return None
        bar = tqdm(total=EXPECTED_FRAMES[name], desc=f"calibrate {name}", unit="frame")
        bars.append(bar)
        return bar.update

    with load_bench(bench_path, seed=args.seed) as bench:
        try:
            cal, results = calibrate(
                bench,
                only,
                bench_path=bench_path,
                on_routine=on_routine,
                seed=args.seed,
                fourier_period=args.fourier_period,
                skipped=skipped,
            )
            for bar in bars:
                finish_bar(bar)
        finally:
            for bar in bars:
                bar.close()
        simulated = isinstance(bench, SimulatedBench)
        summary: dict[str, Any] = {
            "bench": cal.bench_name,
            "bench_path": str(bench_path),
            "bench_seed": cal.fingerprint.get("seed"),
            "routines": [n for n in only if n not in (skipped or {})],
            "skipped": dict(skipped or {}),
            "frames": {
                **cal.frames,
                "total_displayed": sum(v["displayed"] for v in cal.frames.values()),
                "total_captured": sum(v["captured"] for v in cal.frames.values()),
            },
            "simulated": simulated,
        }
        if simulated:
            summary.update(compare_with_truth(bench, results))
            summary["notes"] = (
                "camera and scale errors are relative (measured / true - 1); "
                "registration.residual_px.error is the rms distance between the measured and "
                "true maps over the input SLM (camera px); lut phase_rms_error_rad is the rms "
                "phase error after linearisation over all levels (true: on the real device, at "
                "the panel's centre, where the global routine's dots put their light, when the "
                "panel varies); "
                "crosstalk.kernel.error is the rms field difference a random double-phase "
                "pattern realises through the measured and the true crosstalk (profile_error: "
                "through the profile's nominal fringing); lut.panel_<slm>.error is the rms "
                "error of the response by region over pixels and levels (rad, or field "
                "amplitude; uniform: a uniform response's), lut.phase_coupling.error the "
                "amplitude-weighted rms of the input SLM's phase per level (rad; uncalibrated: "
                "none assumed)"
            )
            truth = bench.truth()
            lut_truth = {}
            for role in ("input_slm", "fourier_slm"):
                curve = np.asarray(truth[role]["response"], float)
                phase = truth[role]["modulation"] == "phase"
                lut_truth[role] = curve - curve[0] if phase else curve / curve.max()
        else:
            summary["measured"] = measured_summary(results)
            lut_truth = None

    out = prepare_out(args.out)
    if not summary["routines"]:
        return _refuse_all(out, summary)
    h5 = cal.save(out / "calibration.h5")
    figures = []
    if "camera" in results:
        figures.append(save_figure(plots.photon_transfer(results["camera"]), out / "ptc.png"))
    if "lut" in results:
        figures.append(save_figure(plots.luts(results["lut"], lut_truth), out / "luts.png"))
    if "registration" in results:
        fig = plots.registration_residuals(results["registration"])
        figures.append(save_figure(fig, out / "registration.png"))
    if "fourier" in results:
        figures.append(save_figure(plots.fourier_centre(results["fourier"]), out / "fourier.png"))
    summary["files"] = [h5.name, *(f.name for f in figures)]
    summary["out_of_limits"] = cal.out_of_limits
    js = write_json(out / "calibration.json", summary)
    total = summary["frames"]["total_captured"]
    _print_skipped(summary["skipped"])
    print(
        f"fouroptics calibrate: {total} frames captured; wrote {h5}, {js}, {len(figures)} figures"
    )
    return _report_limits(cal.out_of_limits)


def _print_skipped(skipped: dict[str, str]) -> None:
    """One ``skipped:`` line per routine that could not run on this bench, on stderr."""
    import sys

    for reason in skipped.values():
        print(f"calibrate: skipped {reason}", file=sys.stderr)


def _refuse_all(out: Path, summary: dict[str, Any]) -> int:
    """No routine could run: calibration.json says why, per routine; exit 2."""
    import sys

    summary["files"] = []
    js = write_json(out / "calibration.json", summary)
    _print_skipped(summary["skipped"])
    print(
        f"fouroptics calibrate: error: no routine can run on bench {summary['bench']!r} "
        f"(each one's reason above and in {js})",
        file=sys.stderr,
    )
    return 2


def finish_bar(bar: Any) -> None:
    """Close a routine's bar at the frames it counted: its total was an estimate
    (:data:`calibration.run.EXPECTED_FRAMES`), so a bar would otherwise stop short of it
    (144/145) or run past it."""
    bar.total = bar.n
    bar.refresh()
    bar.close()


def _report_limits(items: list[dict[str, Any]]) -> int:
    """One ``warning:`` line per quantity out of its limit on stderr; the exit status."""
    import sys

    from calibration.limits import describe

    for item in items:
        print(f"warning: calibrate: {describe(item)}", file=sys.stderr)
    if not items:
        return 0
    print(
        f"fouroptics calibrate: {len(items)} quantit{'ies' if len(items) > 1 else 'y'} out of "
        f"limits: the calibration is written but may be wrong; fix the bench and recalibrate "
        f"(exit {EXIT_OUT_OF_LIMITS})",
        file=sys.stderr,
    )
    return EXIT_OUT_OF_LIMITS
