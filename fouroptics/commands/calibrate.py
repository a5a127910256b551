"""``fouroptics calibrate``: measure a bench (camera, SLM LUTs, registration, Fourier SLM).

Writes DIR/calibration.h5 (the CalibrationSet), DIR/calibration.json (every quantity, the
frames each routine displayed and captured; on a simulated bench each quantity as
``{"measured", "true", "error"}``) and figures. The routines see only display, capture and
exposure; the truth of a simulated bench is read here, after they ran, for the report.
Nothing is written until every routine has succeeded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.report import prepare_out, save_figure, write_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", required=True, help="bench YAML (simulated or hardware)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--only", default=None, help="comma-separated subset of camera,lut,registration,fourier"
    )
    parser.add_argument("--seed", type=int, default=None, help="override the bench's seed")
    parser.add_argument("--threads", type=int, default=None, help="FFT/BLAS threads")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def _rel(measured: float, true: float) -> dict[str, float]:
    return {"measured": measured, "true": true, "error": measured / true - 1.0 if true else None}


def _linearised_rms(curve: np.ndarray, inverse: np.ndarray, target: np.ndarray) -> float:
    """RMS (rad) of the phase ``curve`` realised by the ``inverse`` LUT's levels minus the
    targets, wrapped to (-pi, pi]."""
    e = np.angle(np.exp(1j * (curve[inverse] - target)))
    return float(np.sqrt(np.mean(e**2)))


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
    return out


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
    return out


def run(args: argparse.Namespace) -> int:
    from fouroptics.commands.inputs import check_threads

    check_threads(args.threads)
    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
    from tqdm import tqdm

    from calibration import plots
    from calibration.run import EXPECTED_FRAMES, calibrate, parse_only
    from devices.config import load_bench
    from devices.simulated.bench import SimulatedBench
    from fouroptics.progress import show_bars

    only = parse_only(args.only)
    bench_path = Path(args.bench)
    bars: list[Any] = []

    def on_routine(name: str):
        for bar in bars:
            bar.close()
        bars.clear()
        if not show_bars(not args.no_progress):
            return None
        bar = tqdm(total=EXPECTED_FRAMES[name], desc=f"calibrate {name}", unit="frame")
        bars.append(bar)
        return bar.update

    with load_bench(bench_path, seed=args.seed) as bench:
        try:
            cal, results = calibrate(
                bench, only, bench_path=bench_path, on_routine=on_routine, seed=args.seed
            )
        finally:
            for bar in bars:
                bar.close()
        simulated = isinstance(bench, SimulatedBench)
        summary: dict[str, Any] = {
            "bench": cal.bench_name,
            "bench_path": str(bench_path),
            "bench_seed": cal.fingerprint.get("seed"),
            "routines": list(only),
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
                "phase error after linearisation over all levels (true: on the real device); "
                "crosstalk.kernel.error is the rms field difference a random double-phase "
                "pattern realises through the measured and the true crosstalk (profile_error: "
                "through the profile's nominal fringing)"
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
    js = write_json(out / "calibration.json", summary)
    total = summary["frames"]["total_captured"]
    print(
        f"fouroptics calibrate: {total} frames captured; wrote {h5}, {js}, {len(figures)} figures"
    )
    return 0
