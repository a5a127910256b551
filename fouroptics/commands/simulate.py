"""``fouroptics simulate``: a compiled MaskBundle on a bench (simulated or hardware).

The test split goes through ``devices.OpticalModel`` (input SLM -> optics -> camera -> readout), the
bundle's electronic head classifies the features (or, for a segmentation SCLC, labels every
pixel of the test canvases); the same images through the digital model give the reference: the
trained SCLC the bundle was compiled from (refused when its model.pt is not the one compiled:
another sha256), or the bundle's noise-free twin for a bundle compiled from kernels or with
``--twin-reference`` (``digital.reference`` in results.json says which). Writes
OUT/results.json (``digital``, ``optical``: accuracy, or mIoU and pixel accuracy for
segmentation; ``exposure``, ``hardware_estimate`` and, with ``--sweep``, ``sweep``) and
figures: the camera frame with the tile map, digital vs optical features, the confusion matrix
or, for segmentation, the predicted masks (input, truth, digital, optical), and the sweep plot.

``--calibration`` takes a CalibrationSet (``fouroptics calibrate``) or, on a simulated bench,
``truth``: the registration and input LUT read by hand from ``bench.truth()`` (a stand-in for
tests and reports, said so in the results).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.report import prepare_out, refuse_existing, write_json

SWEEPS = ("photons", "bits", "misalignment", "flicker", "rin", "stray")
#: the files a run writes into --out (a folder holding one is refused unless --force)
OUTPUTS = ("results.json", "camera_frame.png", "features.png", "confusion.png",
           "segmentation.png", "timeline.png", *(f"sweep_{s}.png" for s in SWEEPS))  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, help="MaskBundle .h5 (compiled for the bench)")
    parser.add_argument("--bench", required=True, help="bench YAML (simulated or hardware)")
    parser.add_argument("--dataset", default="mnist", help="mnist | idx:<folder> | glyphs")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--calibration", default=None, help="CalibrationSet .h5, or 'truth'")
    add_identity_arguments(parser)
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--sweep", choices=SWEEPS, default=None, help="accuracy vs a parameter")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="noise seeds per sweep point"
    )
    parser.add_argument(
        "--exposure", default=None, help="camera exposure: '2 ms', or seconds (default: automatic)"
    )
    parser.add_argument(
        "--target", type=float, default=0.5, help="brightest tile, fraction of the camera range"
    )
    parser.add_argument("--no-noise", action="store_true", help="simulated camera without noise")
    parser.add_argument("--seed", type=int, default=0, help="camera noise seed (simulated)")
    parser.add_argument("--batch", type=int, default=64, help="images per capture batch")
    parser.add_argument("--threads", type=int, default=None, help="FFT/BLAS threads")
    from fouroptics.commands.scale import add_device_argument

    add_device_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--force", action="store_true", help="overwrite the results of an earlier run in --out"
    )
    parser.add_argument(
        "--timeline",
        default=None,
        help="measure again at evenly spaced times of a drifting simulated bench over this "
        "long ('1h'; fouroptics/commands/timeline.py)",
    )
    parser.add_argument("--points", type=int, default=None, help="timeline points (default 7)")
    parser.add_argument(
        "--recalibrate-every",
        dest="recal_every",
        default=None,
        help="with --timeline: quick check this often ('10min'), recalibrate what drifted",
    )


def add_identity_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allow-other-bench`` and ``--twin-reference`` (simulate and finetune)."""
    parser.add_argument(
        "--allow-other-bench",
        action="store_true",
        help="use a --calibration measured on another bench (or the same bench changed) with a "
        "warning instead of refusing it",
    )
    parser.add_argument(
        "--twin-reference",
        action="store_true",
        help="the bundle's noise-free twin is the digital reference (when the trained model it "
        "was compiled from is not at hand)",
    )


def load_inputs(args: argparse.Namespace, bench: Any) -> tuple[Any, Any, Any, Any]:
    """(bundle, calibration, test images+labels, reference training images)."""
    from fouroptics.commands.inputs import load_calibration, load_task_data
    from fouroptics.compiler import MaskBundle

    bundle = MaskBundle.load(args.bundle, system=bench.system)
    cal = load_calibration(
        args.calibration, bench, args.bench, allow_other_bench=args.allow_other_bench
    )
    data = load_task_data(args.dataset, bundle)
    x, y = data.test_x, data.test_y
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError(f"--limit: got {args.limit}; expected a positive image count")
        x, y = x[: args.limit], y[: args.limit]
    return bundle, cal, (x.numpy(), y.numpy()), data.train_x[:16].numpy()


def measure(model: Any, x: np.ndarray, progress: bool = True) -> tuple[np.ndarray, float]:
    """Optical features of ``x`` through ``model`` (an OpticalModel) and the wall seconds,
    with a progress bar in frames unless disabled or stderr is not a terminal."""
    from tqdm import tqdm

    from fouroptics.progress import show_bars

    bar = tqdm(total=len(x) * model.bundle.n_frames, desc="simulate", unit="frame",
               disable=not show_bars(progress))  # fmt: skip
    t0 = time.perf_counter()
    try:
        feats = model.features(x, progress=bar.update)
    finally:
        bar.close()
    return feats, time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    """The verb; under ``torchrun`` each rank measures its share of the images (and of each
    sweep point's), rank 0 alone writes --out (:mod:`fouroptics.commands.scale`)."""
    from fouroptics.commands.scale import check_device, refuse_device_on_hardware, run_sharded

    check_device(args.device)
    refuse_device_on_hardware(args.bench, args.device)
    return run_sharded("simulate", args, _run)


def _run(args: argparse.Namespace, rank: int, shard: Any) -> int:
    from fouroptics.commands.inputs import check_run_args

    target = check_run_args(args)
    from fouroptics.commands.timeline import parse_timeline

    timeline = parse_timeline(args)
    refuse_existing(args.out, OUTPUTS, "the results of a simulate run", args.force)
    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
        import torch

        torch.set_num_threads(args.threads)
    from devices.config import load_bench
    from devices.config.rates import frame_rates
    from devices.run import OpticalModel
    from devices.run.estimate import hardware_estimate
    from devices.run.tasks import confusion, metrics, n_classes, predict
    from fouroptics.commands import simulate_report as report
    from fouroptics.commands.inputs import (
        digital_features,
        reference_model,
        run_warnings,
        teacher_macs,
    )
    from fouroptics.units import parse_option

    exposure = None if args.exposure is None else parse_option(args.exposure, "time", "--exposure")
    with load_bench(args.bench) as bench:
        from fouroptics.commands.scale import use_device

        use_device(bench, args.device)
        bundle, cal, (x, y), ref = load_inputs(args, bench)
        digital_model, _, dig_src = reference_model(bundle, args.bundle, args.twin_reference)
        model = OpticalModel(
            bundle, bench, cal, ref, exposure=exposure, target=target, batch=args.batch,
            noise=not args.no_noise, seed=args.seed, shard=shard,
        )  # fmt: skip
        task = model.task
        dig = digital_features(digital_model, bundle, x)
        dig_pred = predict(bundle, dig)
        t_start = float(getattr(bench, "time", 0.0))
        opt, wall = measure(model, x, progress=not args.no_progress)
        stats = model.stats
        stats.warnings.extend(run_warnings(bundle, bench, stats, exposure))
        pred = predict(bundle, opt)
        for w in stats.warnings if rank == 0 else ():
            print(f"fouroptics simulate: warning: {w}")
        k = n_classes(bundle, y, dig_pred, pred)
        nrmse = float(np.linalg.norm(opt - dig) / max(np.linalg.norm(dig), 1e-300))
        estimate = hardware_estimate(
            bundle, bench, frame_rates(args.bench), teacher_macs=teacher_macs(bundle, args.bundle),
            stats=stats,
        )  # fmt: skip
        results: dict[str, Any] = {
            "bundle": str(args.bundle),
            "bench": str(args.bench),
            "dataset": args.dataset,
            "task": task,
            "images": int(len(x)),
            "encoding": bundle.encoding,
            "detection": bundle.detection,
            "calibration": stats.calibration,
            "noise": not args.no_noise,
            "digital": {
                **metrics(task, y, dig_pred, k),
                "source": dig_src,
                "reference": "twin" if digital_model is None else "model",
            },
            "optical": {
                **metrics(task, y, pred, k),
                "feature_nrmse": nrmse,
                "frames": stats.frames,
                "frames_per_s": stats.frames / wall,
                "wall_s": wall,
                "mean_photons_per_pixel": stats.mean_photons_per_pixel,
                "saturated_fraction": stats.saturated_fraction,
                "agreement_with_digital": float(np.mean(pred == dig_pred)),
                "warnings": stats.warnings,
            },
            "exposure": {
                "seconds": stats.exposure.exposure,
                "brightest_tile_fraction": stats.exposure.fraction,
                "target_fraction": stats.exposure.target,
                "automatic": exposure is None,
                "steps": stats.exposure.steps,
            },
            "photometry": {
                "gain_dn_per_w": stats.photometry.gain,
                "offset_dn": stats.photometry.offset,
                "r2": stats.photometry.r2,
            },
            "hardware_estimate": estimate,
            "confusion": confusion(y, pred, k).tolist(),
        }
        out = prepare_out(args.out) if rank == 0 else None
        figures = [] if out is None else [
            report.camera_frame(stats.example_frame, bundle, out / "camera_frame.png"),
            report.features(dig, opt, out / "features.png"),
        ]  # fmt: skip
        if out is None:
            pass
        elif task == "segment":
            from fouroptics.nn.plots import plot_segmentations

            n = min(6, len(x))
            preds = {"digital": dig_pred[:n], "optical": pred[:n]}
            figures.append(plot_segmentations(x[:n, 0], y[:n], preds, out / "segmentation.png"))
        else:
            from fouroptics.nn.plots import plot_confusions

            figures.append(
                plot_confusions({"optical": results["confusion"]}, out / "confusion.png")
            )
        if args.sweep:
            from fouroptics.commands.sweeps import run_sweep

            sweep = run_sweep(args.sweep, model, x, y, args, digital=dig)
            sweep["digital_" + sweep["metric"]] = results["digital"][sweep["metric"]]
            if args.sweep == "photons":
                from fouroptics.commands.sweeps import photons_per_mac

                sweep["falloff_photons_per_mac"] = photons_per_mac(
                    sweep.get("falloff_photons"), bundle, estimate["optical_macs_per_inference"]
                )
            results["sweep"] = sweep
            if out is not None:
                figures.append(report.sweep_plot(sweep, out / f"sweep_{args.sweep}.png"))
        if timeline is not None:
            from fouroptics.commands.timeline import run_timeline, timeline_plot

            def make_model(c: Any) -> Any:
                return OpticalModel(
                    bundle, bench, c, ref, exposure=exposure, target=target, batch=args.batch,
                    noise=not args.no_noise, seed=args.seed, shard=shard,
                )  # fmt: skip

            def score(f: np.ndarray) -> dict[str, float]:
                err = float(np.linalg.norm(f - dig) / max(np.linalg.norm(dig), 1e-300))
                return {**metrics(task, y, predict(bundle, f), k), "feature_nrmse": err}

            results.update(run_timeline(
                timeline, bench, cal, make_model, model,
                lambda m: measure(m, x, progress=not args.no_progress)[0], score,
                (t_start, opt), args.bench,
            ))  # fmt: skip
            metric = "miou" if task == "segment" else "accuracy"
            if out is not None:
                figures.append(timeline_plot(
                    results["timeline"], results["digital"], metric, out / "timeline.png"
                ))  # fmt: skip
    if out is None:
        return 0
    results["processes"] = 1 if shard is None else shard.world
    results["files"] = [f.name for f in figures]
    path = write_json(out / "results.json", results)
    names = ("miou", "pixel_accuracy") if task == "segment" else ("accuracy",)
    label = {"miou": "mIoU", "pixel_accuracy": "pixel accuracy", "accuracy": "accuracy"}

    def said(side: str) -> str:
        return ", ".join(f"{label[m]} {100 * results[side][m]:.2f} %" for m in names)

    print(
        f"fouroptics simulate: digital {said('digital')}; optical {said('optical')} on "
        f"{len(x)} images (feature NRMSE {nrmse:.3g}, "
        f"{results['optical']['frames_per_s']:.1f} frames/s); wrote {path}"
    )
    return 0
