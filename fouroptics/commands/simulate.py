"""``fouroptics simulate``: a compiled MaskBundle on a bench (simulated or hardware).

The test split goes through ``bench.run`` (input SLM -> optics -> camera -> readout), the
bundle's electronic head classifies the features (or, for a segmentation SCLC, labels every
pixel of the test canvases); the same images through the digital model (the trained SCLC when
its run folder is at hand, else the bundle's noise-free twin) give the reference. Writes
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
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.report import prepare_out, write_json

SWEEPS = ("photons", "bits", "misalignment")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, help="MaskBundle .h5 (compiled for the bench)")
    parser.add_argument("--bench", required=True, help="bench YAML (simulated or hardware)")
    parser.add_argument("--dataset", default="mnist", help="mnist | idx:<folder> | glyphs")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--calibration", default=None, help="CalibrationSet .h5, or 'truth'")
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--sweep", choices=SWEEPS, default=None, help="accuracy vs a parameter")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="noise seeds per sweep point"
    )
    parser.add_argument("--exposure", default=None, help="camera exposure (default: automatic)")
    parser.add_argument(
        "--target", type=float, default=0.5, help="brightest tile, fraction of the camera range"
    )
    parser.add_argument("--no-noise", action="store_true", help="simulated camera without noise")
    parser.add_argument("--seed", type=int, default=0, help="camera noise seed (simulated)")
    parser.add_argument("--batch", type=int, default=64, help="images per capture batch")
    parser.add_argument("--threads", type=int, default=None, help="FFT/BLAS threads")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def task_of(bundle: Any) -> str:
    """``segment`` for a bundle compiled from a segmentation SCLC, else ``classify``."""
    config = (bundle.meta.get("source") or {}).get("model_config") or {}
    return "segment" if config.get("kind") == "seg_sclc" else "classify"


def load_task_data(dataset: str, bundle: Any) -> Any:
    """The bundle's task's data at its image size: classification images, or segmentation
    canvases (:func:`fouroptics.data.load_segmentation` with its default sizes, the test
    canvases `fouroptics train --task segment` evaluates on)."""
    from fouroptics.data.registry import load_classification, load_segmentation

    size = bundle.image_shape[-1]
    if task_of(bundle) == "segment":
        return load_segmentation(dataset, seed=0, size=size)
    return load_classification(dataset, resolution=size)


def load_inputs(args: argparse.Namespace, bench: Any) -> tuple[Any, Any, Any, Any]:
    """(bundle, calibration, test images+labels, reference training images)."""
    from fouroptics.compiler import MaskBundle

    bundle = MaskBundle.load(args.bundle, system=bench.system)
    cal = load_calibration(args.calibration, bench)
    data = load_task_data(args.dataset, bundle)
    x, y = data.test_x, data.test_y
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError(f"--limit: got {args.limit}; expected a positive image count")
        x, y = x[: args.limit], y[: args.limit]
    return bundle, cal, (x.numpy(), y.numpy()), data.train_x[:16].numpy()


def load_calibration(spec: str | None, bench: Any) -> Any:
    """None, the ``truth`` stand-in (simulated benches) or a CalibrationSet file."""
    if spec is None:
        return None
    if spec == "truth":
        from devices.simulated.batched import truth_calibration
        from devices.simulated.bench import SimulatedBench

        if not isinstance(bench, SimulatedBench):
            raise ConfigError("--calibration truth: only a simulated bench has a truth")
        return truth_calibration(bench)
    from calibration.calset import CalibrationSet

    return CalibrationSet.load(spec)


def digital_features(bundle: Any, x: np.ndarray) -> tuple[np.ndarray, str]:
    """The trained model's detected features, or the bundle's noise-free twin."""
    import torch

    src = (bundle.meta.get("source") or {}).get("model")
    if src and Path(src).exists():
        from fouroptics.nn.train import load_model

        model, _ = load_model(src, device=torch.device("cpu"))
        with torch.no_grad():
            return model.features(torch.as_tensor(x)).numpy(), f"model {src}"
    return bundle.simulate(x), "bundle twin (noise-free)"


def predict(bundle: Any, feats: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The bundle's electronic head on features (B, C, n, n): class labels (B,) or, for a
    segmentation head, label maps (B, H, W)."""
    import torch

    head = bundle.head()
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), chunk):  # bounded memory (segmentation logits)
            logits = head(torch.as_tensor(feats[i : i + chunk], dtype=torch.float32))
            out.append(logits.argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros((0,), dtype=np.int64)


def confusion(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts, rows true class (:func:`fouroptics.nn.metrics.confusion_matrix`)."""
    import torch

    from fouroptics.nn.metrics import confusion_matrix

    return confusion_matrix(torch.as_tensor(pred), torch.as_tensor(y), k).numpy()


def metrics(task: str, y: np.ndarray, pred: np.ndarray, k: int) -> dict[str, float]:
    """``{"accuracy"}`` (classify) or ``{"miou", "pixel_accuracy"}`` (segment), from the
    confusion matrix by :mod:`fouroptics.nn.metrics` (the training's own metrics)."""
    import torch

    from fouroptics.nn.metrics import accuracy, mean_iou

    cm = torch.as_tensor(confusion(y, pred, k))
    if task == "segment":
        return {"miou": mean_iou(cm), "pixel_accuracy": accuracy(cm)}
    return {"accuracy": accuracy(cm)}


def headline(task: str) -> str:
    """The metric a task is judged by (sweeps, fine-tuning): accuracy or mIoU."""
    return "miou" if task == "segment" else "accuracy"


def n_classes(bundle: Any, *labels: np.ndarray) -> int:
    """Classes of the bundle's model (or one past the largest label seen)."""
    config = (bundle.meta.get("source") or {}).get("model_config") or {}
    seen = max(int(np.max(a)) for a in labels if np.size(a)) + 1 if labels else 0
    return max(int(config.get("classes", 0)), seen)


def measure(
    bench: Any,
    bundle: Any,
    x: np.ndarray,
    ref: np.ndarray,
    cal: Any,
    args: argparse.Namespace,
    progress: bool = True,
    **options: Any,
) -> tuple[np.ndarray, Any, float]:
    """Optical features, run stats and wall seconds (progress bar unless disabled)."""
    from tqdm import tqdm

    from devices.run.loop import RunStats

    stats = RunStats()
    total = len(x) * bundle.n_frames
    bar = tqdm(total=total, desc="simulate", unit="frame", disable=args.no_progress or not progress)
    opts = dict(options)
    cap = opts.setdefault("capture_options", {})
    if args.no_noise:
        cap["noise"] = False
    elif "rng" not in cap:  # the batched path's fast noise: a fresh stream per measurement
        args.measurements = getattr(args, "measurements", 0) + 1
        cap["rng"] = np.random.default_rng([getattr(args, "seed", 0), args.measurements])
    t0 = time.perf_counter()
    try:
        feats = bench.run(
            bundle,
            x,
            cal,
            reference=ref,
            stats=stats,
            progress=bar.update,
            batch=args.batch,
            **opts,
        )
    finally:
        bar.close()
    return feats, stats, time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    if args.threads:
        os.environ.setdefault("FOUROPTICS_FFT_THREADS", str(args.threads))
        import torch

        torch.set_num_threads(args.threads)
    from devices.config.bench_config import load_bench
    from devices.run.estimate import frame_rates, hardware_estimate
    from fouroptics.commands import simulate_report as report
    from fouroptics.units import parse_quantity

    exposure = (
        None if args.exposure is None else parse_quantity(args.exposure, "time", "--exposure")
    )
    with load_bench(args.bench) as bench:
        bundle, cal, (x, y), ref = load_inputs(args, bench)
        task = task_of(bundle)
        dig, dig_src = digital_features(bundle, x)
        dig_pred = predict(bundle, dig)
        opt, stats, wall = measure(bench, bundle, x, ref, cal, args, exposure=exposure)
        pred = predict(bundle, opt)
        for w in stats.warnings:
            print(f"fouroptics simulate: warning: {w}")
        k = n_classes(bundle, y, dig_pred, pred)
        nrmse = float(np.linalg.norm(opt - dig) / max(np.linalg.norm(dig), 1e-300))
        estimate = hardware_estimate(bundle, bench, frame_rates(args.bench))
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
            "digital": {**metrics(task, y, dig_pred, k), "source": dig_src},
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
        out = prepare_out(args.out)
        figures = [
            report.camera_frame(stats.example_frame, bundle, out / "camera_frame.png"),
            report.features(dig, opt, out / "features.png"),
        ]
        if task == "segment":
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

            sweep = run_sweep(args.sweep, bench, bundle, x, y, ref, cal, args, stats)
            sweep["digital_" + sweep["metric"]] = results["digital"][sweep["metric"]]
            results["sweep"] = sweep
            figures.append(report.sweep_plot(sweep, out / f"sweep_{args.sweep}.png"))
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
