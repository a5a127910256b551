"""What the run verbs (simulate, finetune, sweeps) load besides the bench: the bundle's task
data, a calibration given on the command line, the digital reference and the teacher's MACs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.errors import ConfigError
from fouroptics.nn.options import MAX_EPOCHS


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
    allow_other_bench: bool = False,
) -> Any:
    """None, the ``truth`` stand-in (simulated benches) or a CalibrationSet file, refused
    (:class:`ConfigError`, one line) when it was measured on another bench: another name or
    seed, other device shapes, pitches, bit depths, drivers or profiles; with
    ``allow_other_bench`` (``--allow-other-bench``) that refusal is a warning instead.

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

    return CalibrationSet.load(
        spec, bench=bench, bench_path=bench_path, seed=seed, allow_other_bench=allow_other_bench
    )


def model_file(bundle: Any, bundle_path: str | Path) -> Path | None:
    """The ``model.pt`` a bundle was compiled from, or None (compiled from kernels, or not
    found). The path is recorded absolute since compile resolves it; an older bundle's
    relative path (relative to where compile ran) is looked up from the bundle's folder and
    each folder above it, then from the current folder."""
    src = (bundle.meta.get("source") or {}).get("model")
    if not src:
        return None
    recorded = Path(src)
    candidates = [recorded]
    if not recorded.is_absolute():
        here = Path(bundle_path).resolve().parent
        candidates = [d / recorded for d in (here, *here.parents, Path.cwd())]
    for cand in candidates:
        path = cand / "model.pt" if cand.is_dir() else cand
        if path.is_file():
            return path
    return None


def reference_model(
    bundle: Any, bundle_path: str | Path, twin_reference: bool = False
) -> tuple[Any, dict[str, Any] | None, str]:
    """``(model, state, source)``: the trained model a bundle was compiled from, checked to be
    that model (the sha256 of its ``model.pt`` is the one compile recorded, and it is an SCLC),
    or ``(None, None, source)`` when the bundle's noise-free twin stands in (a bundle compiled
    from kernels, or ``twin_reference``). ``source`` says which, for results.json.

    Raises:
        ConfigError: the model is not at hand (unless ``twin_reference``), its file holds
            another model (hash mismatch), or a model that is not an SCLC.
    """
    import torch

    from fouroptics.io.digest import file_sha256
    from fouroptics.nn.train import load_model

    source = bundle.meta.get("source") or {}
    recorded = source.get("model")
    if not recorded:
        return None, None, "bundle twin (noise-free): compiled from kernels, no model"
    if twin_reference:
        return None, None, f"bundle twin (noise-free): --twin-reference, model {recorded} not used"
    path = model_file(bundle, bundle_path)
    if path is None:
        raise ConfigError(
            f"--bundle {bundle_path}: the model it was compiled from, {recorded}, is not at hand "
            "(looked from the bundle's folder, the folders above it and the current folder); "
            "pass --twin-reference to use the bundle's noise-free twin as the digital reference"
        )
    expected = source.get("model_sha256")
    try:
        found = file_sha256(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if expected and found != expected:
        raise ConfigError(
            f"{path}: not the model --bundle {bundle_path} was compiled from: sha256 "
            f"{found[:12]}... found, {str(expected)[:12]}... expected; compile it again, or "
            "pass --twin-reference to use the bundle's noise-free twin"
        )
    model, state = load_model(path, device=torch.device("cpu"))
    kind = (state.get("model_config") or {}).get("kind")
    if kind not in ("sclc", "seg_sclc"):
        raise ConfigError(
            f"{path}: holds a {kind!r} model, not the SCLC --bundle {bundle_path} was compiled "
            "from; compile it again, or pass --twin-reference"
        )
    return model, state, f"model {path}"


def digital_features(model: Any, bundle: Any, x: np.ndarray) -> np.ndarray:
    """The detected features of ``x`` through the trained ``model``, or through the bundle's
    noise-free twin when ``model`` is None (:func:`reference_model`)."""
    import torch

    if model is None:
        return bundle.simulate(x)
    with torch.no_grad():
        return model.features(torch.as_tensor(x)).numpy()


def teacher_macs(bundle: Any, bundle_path: str | Path) -> int | None:
    """MACs of the teacher next to the student's run folder (experiment layout), or None."""
    model = model_file(bundle, bundle_path)
    if model is None or bundle.head_state is None:
        return None
    run = model.parent
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


#: below this many photons per pixel in the brightest tile, shot noise alone exceeds 30 % of
#: the signal: the dark regime, where a given --exposure earns a warning
DARK_PHOTONS = 10.0


def run_warnings(
    bundle: Any, bench: Any, stats: Any = None, exposure: float | None = None
) -> list[str]:
    """What a run verb warns about beyond the run's own diagnostics: a ``complex`` bundle on a
    simulated bench whose Fourier SLM cannot display it (it runs as if on an ideal complex
    modulator; hardware refuses it), and, once ``stats`` are measured, an ``--exposure``
    (``exposure``, seconds) in the dark regime (fewer than :data:`DARK_PHOTONS` expected
    photons per pixel in the brightest tile)."""
    notes = []
    slm = getattr(bench, "fourier_slm", None)
    if bundle.fourier_levels is None and slm is not None:
        notes.append(
            f"bundle encoding {bundle.encoding!r}: bench {bench.name!r}'s Fourier SLM modulates "
            f"{slm.modulation} only and cannot display complex masks; the simulation shows them "
            "on an ideal complex modulator (compile with --encoding double-phase for this SLM)"
        )
    photons = None if stats is None else stats.mean_photons_per_pixel
    if exposure is not None and photons is not None and photons < DARK_PHOTONS:
        notes.append(
            f"--exposure {exposure:g} s: {photons:.3g} photons per pixel expected in the "
            f"brightest tile (measured or spec-sheet gain, spec-sheet QE), under "
            f"{DARK_PHOTONS:g}: the dark regime, where shot and read noise dominate; lengthen "
            "it or leave --exposure out (automatic)"
        )
    return notes


#: the most ``--threads`` a verb takes (torch and the FFT plans refuse absurd counts deep inside)
MAX_THREADS = 1024


def check_threads(threads: int | None) -> None:
    """``--threads`` None (automatic) or 1..:data:`MAX_THREADS`, else one line."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise ConfigError(f"--threads: got {threads}; expected an integer from 1 to {MAX_THREADS}")


def check_run_args(args: Any) -> float:
    """The run options of ``simulate`` and ``finetune``, checked before anything is loaded:
    ``--batch``, ``--batch-size``, ``--train``, ``--val``, ``--limit`` >= 1, ``--seed`` and every
    ``--seeds`` >= 0, ``--epochs`` 0..:data:`~fouroptics.nn.options.MAX_EPOCHS`, ``--lr``
    finite and > 0, ``--threads`` 1..1024 when given; returns ``--target``, the brightest
    tile's share of the camera range, in (0, 1]."""
    checks = [("--batch", args.batch, 1), ("--seed", args.seed, 0)]
    checks += [("--seeds", s, 0) for s in getattr(args, "seeds", None) or ()]
    for flag in ("--epochs", "--batch-size", "--train", "--val", "--limit"):
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None:
            checks.append((flag, value, 0 if flag == "--epochs" else 1))
    for flag, value, low in checks:
        if value < low:
            raise ConfigError(f"{flag}: got {value}; expected an integer >= {low}")
    epochs = getattr(args, "epochs", None)
    if epochs is not None and epochs > MAX_EPOCHS:
        raise ConfigError(
            f"--epochs: got {epochs}; expected an integer from 0 to {MAX_EPOCHS:,} (a bound on "
            "the work: each epoch measures every training image on the bench)"
        )
    lr = getattr(args, "lr", None)
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise ConfigError(f"--lr: got {lr}; expected a finite learning rate > 0")
    check_threads(args.threads)
    target = args.target
    if not (np.isfinite(target) and 0 < target <= 1):
        raise ConfigError(
            f"--target: got {target}; expected a fraction of the camera range in (0, 1]"
        )
    return float(target)
