"""What the run verbs (simulate, finetune, sweeps) load besides the bench: the bundle's task
data, a calibration given on the command line, the digital reference and the teacher's MACs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError


def load_task_data(dataset: str, bundle: Any) -> Any:
    """The bundle's task's data at its image size: classification images, or segmentation
    canvases (:func:`fouroptics.data.load_segmentation` with its default sizes, the test
    canvases `fouroptics train --task segment` evaluates on)."""
    from devices.run.tasks import task_of
    from fouroptics.data.registry import load_classification, load_segmentation

    size = bundle.image_shape[-1]
    if task_of(bundle) == "segment":
        return load_segmentation(dataset, seed=0, size=size)
    return load_classification(dataset, resolution=size)


def load_calibration(
    spec: str | None,
    bench: Any,
    bench_path: str | Path | None = None,
    seed: int | None = None,
) -> Any:
    """None, the ``truth`` stand-in (simulated benches) or a CalibrationSet file, refused
    (:class:`ConfigError`, one line) when it was measured on another bench: another name or
    seed, other device shapes, pitches, bit depths, drivers or profiles.

    Args:
        spec: ``--calibration``: None, ``truth`` or a calibration.h5.
        bench: the Bench it will be used with.
        bench_path: the bench YAML ``bench`` was loaded from (``--bench``): its seed, drivers,
            profiles and hash are checked too.
        seed: the seed ``bench`` was loaded with, when it overrode the YAML's.
    """
    if spec is None:
        return None
    if spec == "truth":
        from devices.simulated.bench import truth_calibration

        if not getattr(bench, "simulated", False):
            raise ConfigError("--calibration truth: only a simulated bench has a truth")
        return truth_calibration(bench)
    from calibration.calset import CalibrationSet

    return CalibrationSet.load(spec, bench=bench, bench_path=bench_path, seed=seed)


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


def teacher_macs(bundle: Any) -> int | None:
    """MACs of the teacher next to the student's run folder (experiment layout), or None."""
    model = (bundle.meta.get("source") or {}).get("model")
    if not model or bundle.head_state is None:
        return None
    run = Path(model)
    for cand in (run.parent.parent / "teacher" / run.name, run.parent / "teacher"):
        if (cand / "model.pt").exists():
            try:
                import torch

                from fouroptics.nn.macs import count_macs
                from fouroptics.nn.train import load_model

                teacher, _ = load_model(cand, device=torch.device("cpu"))
                return count_macs(teacher, tuple(bundle.image_shape))
            except Exception:  # an unreadable teacher: no number rather than a failed run
                return None
    return None


def check_run_args(args: Any) -> float:
    """The run options of ``simulate`` and ``finetune``, checked before anything is loaded:
    ``--batch``, ``--batch-size``, ``--train``, ``--val``, ``--limit`` >= 1, ``--seed`` and every
    ``--seeds`` >= 0, ``--epochs`` >= 0, ``--lr`` finite and > 0, ``--threads`` >= 1 when given;
    returns ``--target``, the brightest tile's share of the camera range, in (0, 1]."""
    checks = [("--batch", args.batch, 1), ("--seed", args.seed, 0)]
    checks += [("--seeds", s, 0) for s in getattr(args, "seeds", None) or ()]
    for flag in ("--epochs", "--batch-size", "--train", "--val", "--limit"):
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None:
            checks.append((flag, value, 0 if flag == "--epochs" else 1))
    for flag, value, low in checks:
        if value < low:
            raise ConfigError(f"{flag}: got {value}; expected an integer >= {low}")
    lr = getattr(args, "lr", None)
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise ConfigError(f"--lr: got {lr}; expected a finite learning rate > 0")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads: got {args.threads}; expected an integer >= 1")
    target = args.target
    if not (np.isfinite(target) and 0 < target <= 1):
        raise ConfigError(
            f"--target: got {target}; expected a fraction of the camera range in (0, 1]"
        )
    return float(target)
