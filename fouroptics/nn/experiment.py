"""``fouroptics experiment classify|segment|resolution``: teacher vs SCLC vs SCLC+KD.

Each experiment trains, per seed, the teacher, the SCLC student without KD and the SCLC
student distilled from that teacher, then writes ``results.json``, ``results.md`` and plots
into the output folder. Every model lives in ``OUT/<model>/seed<k>/`` (checkpoint per epoch,
final ``model.pt`` and ``config.json``); with ``resume`` finished models are reloaded and
interrupted ones continue from their last epoch.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fouroptics.data import load_classification, load_segmentation
from fouroptics.errors import ConfigError, RunFolderError
from fouroptics.io.atomic import atomic_write_bytes
from fouroptics.nn.kd import PAPER_ALPHA, PAPER_TEMPERATURE
from fouroptics.nn.macs import count_macs
from fouroptics.nn.models import (
    build_model,
    sclc_config,
    seg_sclc_config,
    seg_teacher_config,
    teacher_config,
)
from fouroptics.nn.options import check_images, check_limit, check_options, option_values
from fouroptics.nn.presets import get_preset
from fouroptics.nn.runfolder import check_folder, differences, flatten, write_manifest
from fouroptics.nn.train import (
    FINAL,
    TrainConfig,
    dataset_info,
    default_device,
    fit_data,
    load_model,
    predict,
    rank_world,
)
from fouroptics.report import write_json


@dataclass
class ExperimentOptions:
    """What to run. ``val > 0`` carves that many validation images out of the training set
    and reports on them instead of the test set (for tuning T, alpha, epochs)."""

    task: str
    dataset: str = "glyphs"
    out: Path = Path("experiment_out")
    preset: str = "quick"
    seeds: list[int] | None = None
    detection: str = "intensity"
    dc_free: bool = False
    temperature: float = PAPER_TEMPERATURE
    alpha: float = PAPER_ALPHA
    feature_weight: float = 0.0
    student_epochs: int | None = None
    teacher_epochs: int | None = None
    val: int = 0
    resolutions: list[int] | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    resume: bool = False
    device: torch.device | None = None
    log: Callable[[str], None] = field(default=print)
    #: called before a model starts training; :func:`run` sets it to record ``run.json``
    #: (so an attempt refused before training anything leaves no record behind).
    on_train: Callable[[], None] | None = None

    @property
    def student(self) -> dict[str, Any]:
        """The student's detection and DC options (``sclc_config`` keywords)."""
        return {"detection": self.detection, "dc_free": self.dc_free}


def _train_or_load(
    name: str,
    model_cfg: dict[str, Any],
    cfg: TrainConfig,
    data: Any,
    task: str,
    out_dir: Path,
    opts: ExperimentOptions,
    teacher: torch.nn.Module | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    device = opts.device or default_device()
    if opts.resume and (out_dir / FINAL).is_file():
        model, state = load_model(out_dir, device)
        stored = {
            **flatten("model.", state["model_config"] or {}),
            **flatten("train.", state["train_config"] or {}),
            **flatten("data.", state["data"] or {}),
        }
        asked = {
            **flatten("model.", model_cfg),
            **flatten("train.", cfg.__dict__),
            **flatten("data.", dataset_info(data)),
        }
        diff = differences(stored, asked)
        if diff:
            raise RunFolderError(
                f"--resume {out_dir / FINAL}: the model was trained with other settings: "
                f"{'; '.join(diff)}"
            )
        opts.log(f"{name} seed {cfg.seed}: finished earlier, loaded {out_dir / FINAL}")
        return model, state["history"]
    opts.log(f"{name} seed {cfg.seed}: training -> {out_dir}")
    if opts.on_train is not None:
        opts.on_train()
    model = build_model(model_cfg, seed=cfg.seed)
    hist = fit_data(
        model,
        data,
        cfg,
        task=task,
        out_dir=out_dir,
        teacher=teacher,
        resume=opts.resume,
        model_config=model_cfg,
        device=device,
        log=opts.log,
    )
    return model, hist


def _stats(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def balanced_class_weights(labels: torch.Tensor, classes: int) -> list[float]:
    """Per-class cross-entropy weights ``freq**-0.5`` normalized to mean 1 (absent classes 1):
    keeps the dominant background from swamping the per-pixel loss."""
    freq = torch.bincount(labels.reshape(-1), minlength=classes).double()
    w = torch.where(freq > 0, (freq / freq.sum()).clamp(min=1e-12) ** -0.5, torch.zeros(()))
    w = w / w[freq > 0].mean()
    return torch.where(freq > 0, w, torch.ones(())).tolist()


def _train_cfg(block: dict[str, Any], preset: dict[str, Any], seed: int, **kw: Any) -> TrainConfig:
    return TrainConfig(
        epochs=block["epochs"], batch_size=preset["batch_size"], lr=block["lr"], seed=seed, **kw
    )


def _apply_overrides(preset: dict[str, Any], opts: ExperimentOptions) -> None:
    if opts.seeds:
        preset["seeds"] = list(opts.seeds)
    if opts.student_epochs:
        preset["student"]["epochs"] = opts.student_epochs
    if opts.teacher_epochs:
        preset["teacher"]["epochs"] = opts.teacher_epochs
    if opts.resolutions:
        preset["resolutions"] = list(opts.resolutions)


def _load(opts: ExperimentOptions) -> Any:
    """The classification dataset (synthetic glyph sets are only rendered as large as used)."""
    return load_classification(
        opts.dataset, seed=0, n_train=opts.limit_train or 8000, n_test=opts.limit_test or 2000
    )


def _limit(data: Any, opts: ExperimentOptions) -> Any:
    """Keep only the first ``limit_train`` / ``limit_test`` samples (small smoke runs)."""
    check_images(tuple(data.train_x.shape), opts.dataset)
    check_limit("--limit-train", opts.limit_train, len(data.train_x), "training")
    check_limit("--limit-test", opts.limit_test, len(data.test_x), "test")
    if opts.limit_train:
        data.train_x, data.train_y = (
            data.train_x[: opts.limit_train],
            data.train_y[: opts.limit_train],
        )
    if opts.limit_test:
        data.test_x, data.test_y = data.test_x[: opts.limit_test], data.test_y[: opts.limit_test]
    return data


def _header(opts: ExperimentOptions, preset: dict[str, Any], evaluated_on: str) -> dict[str, Any]:
    return {
        "task": opts.task,
        "dataset": opts.dataset,
        "preset": opts.preset,
        "detection": opts.detection,
        "dc_free": opts.dc_free,
        "seeds": preset["seeds"],
        "kd": {
            "temperature": opts.temperature,
            "alpha": opts.alpha,
            "feature_weight": opts.feature_weight,
        },
        "evaluated_on": evaluated_on,
        "config": preset,
    }


def run_classify(opts: ExperimentOptions) -> dict[str, Any]:
    """Classification experiment; returns the results dict written to ``results.json``."""
    from fouroptics.nn.plots import plot_confusions, plot_curves

    preset = get_preset("classify", opts.preset)
    _apply_overrides(preset, opts)
    data = _limit(_load(opts), opts)
    evaluated_on = f"test ({len(data.test_x)} images)"
    if opts.val:
        data = data.split_validation(opts.val, seed=1234)
        evaluated_on = f"validation ({opts.val} images carved from the training set)"
    res = data.train_x.shape[-1]
    t_cfg = teacher_config(res, data.num_classes, preset["teacher"]["widths"])
    s_cfg = sclc_config(res, data.num_classes, preset["student"]["channels"], **opts.student)
    names = ("teacher", "sclc", "sclc_kd")
    hists: dict[str, list] = {k: [] for k in names}
    finals: dict[str, list] = {k: [] for k in names}
    models: dict[str, torch.nn.Module] = {}
    for seed in preset["seeds"]:
        tc = _train_cfg(preset["teacher"], preset, seed)
        teacher, h = _train_or_load(
            "teacher", t_cfg, tc, data, "classify", opts.out / "teacher" / f"seed{seed}", opts
        )
        hists["teacher"].append(h)
        sc = _train_cfg(preset["student"], preset, seed)
        student, h2 = _train_or_load(
            "sclc", s_cfg, sc, data, "classify", opts.out / "sclc" / f"seed{seed}", opts
        )
        hists["sclc"].append(h2)
        kc = _train_cfg(
            preset["student"],
            preset,
            seed,
            temperature=opts.temperature,
            alpha=opts.alpha,
            feature_weight=opts.feature_weight,
        )
        kd_student, h3 = _train_or_load(
            "sclc_kd",
            s_cfg,
            kc,
            data,
            "classify",
            opts.out / "sclc_kd" / f"seed{seed}",
            opts,
            teacher=teacher,
        )
        hists["sclc_kd"].append(h3)
        models = {"teacher": teacher, "sclc": student, "sclc_kd": kd_student}
        for k, hh in zip(names, (h, h2, h3), strict=True):
            finals[k].append(hh["final"])
    in_shape = tuple(data.train_x.shape[1:])
    out: dict[str, Any] = _header(opts, preset, evaluated_on)
    out["models"] = {
        k: _summary(models[k], hists[k], in_shape, test_accuracy=[f["accuracy"] for f in finals[k]])
        for k in names
    }
    _write(opts.out, out, "test_accuracy")
    plot_curves(hists, "accuracy", opts.out / "curves.png")
    plot_confusions({k: finals[k][0]["confusion"] for k in names}, opts.out / "confusion.png")
    return out


def _summary(
    model: torch.nn.Module, hists: list[dict[str, Any]], in_shape: tuple[int, ...], **metrics: Any
) -> dict[str, Any]:
    """results.json entry of one model: its test metrics (one value per seed) first, then
    electronic MACs, training times, epochs and the per-epoch test curves."""
    return {
        **metrics,
        "electronic_macs": count_macs(model, in_shape),
        "train_seconds": [h["train_seconds"] for h in hists],
        "epochs": len(hists[0]["epoch"]),
        "curve": [h["test_metric"] for h in hists],
    }


def run_segment(opts: ExperimentOptions) -> dict[str, Any]:
    """Segmentation experiment on canvases from ``opts.dataset``."""
    from fouroptics.nn.plots import plot_curves, plot_segmentations

    preset = get_preset("segment", opts.preset)
    _apply_overrides(preset, opts)
    if opts.limit_train:
        preset["n_train"] = opts.limit_train
    if opts.limit_test:
        preset["n_test"] = opts.limit_test
    data = load_segmentation(opts.dataset, 0, 64, preset["n_train"], preset["n_test"])
    evaluated_on = f"test ({len(data.test_x)} canvases)"
    if opts.val:
        n = len(data.train_x)
        if not opts.val < n:
            raise ConfigError(f"--val {opts.val}: must be less than the {n} training canvases")
        data.test_x, data.test_y = data.train_x[n - opts.val :], data.train_y[n - opts.val :]
        data.train_x, data.train_y = data.train_x[: n - opts.val], data.train_y[: n - opts.val]
        evaluated_on = f"validation ({opts.val} canvases carved from the training set)"
    cw = balanced_class_weights(data.train_y, data.num_classes)
    t_cfg = seg_teacher_config(data.num_classes, preset["teacher"]["width"])
    s_cfg = seg_sclc_config(64, data.num_classes, preset["student"]["channels"], **opts.student)
    names = ("teacher", "sclc", "sclc_kd")
    hists: dict[str, list] = {k: [] for k in names}
    models: dict[str, torch.nn.Module] = {}
    for seed in preset["seeds"]:
        tc = _train_cfg(preset["teacher"], preset, seed, class_weights=cw)
        teacher, h = _train_or_load(
            "teacher", t_cfg, tc, data, "segment", opts.out / "teacher" / f"seed{seed}", opts
        )
        sc = _train_cfg(preset["student"], preset, seed, class_weights=cw)
        student, h2 = _train_or_load(
            "sclc", s_cfg, sc, data, "segment", opts.out / "sclc" / f"seed{seed}", opts
        )
        kc = _train_cfg(
            preset["student"],
            preset,
            seed,
            temperature=opts.temperature,
            alpha=opts.alpha,
            class_weights=cw,
        )
        kd_student, h3 = _train_or_load(
            "sclc_kd",
            s_cfg,
            kc,
            data,
            "segment",
            opts.out / "sclc_kd" / f"seed{seed}",
            opts,
            teacher=teacher,
        )
        models = {"teacher": teacher, "sclc": student, "sclc_kd": kd_student}
        for k, hh in zip(names, (h, h2, h3), strict=True):
            hists[k].append(hh)
    in_shape = tuple(data.train_x.shape[1:])
    out: dict[str, Any] = _header(opts, preset, evaluated_on)
    out["num_classes"] = data.num_classes
    out["models"] = {
        k: _summary(
            models[k],
            hists[k],
            in_shape,
            test_miou=[h["final"]["miou"] for h in hists[k]],
            test_pixel_accuracy=[h["final"]["pixel_accuracy"] for h in hists[k]],
        )
        for k in names
    }
    _write(opts.out, out, "test_miou")
    plot_curves(hists, "mIoU", opts.out / "curves.png")
    device = opts.device or default_device()
    x = data.test_x[:6]
    preds = {k: predict(m, x, device).argmax(1).numpy() for k, m in models.items()}
    plot_segmentations(x[:, 0].numpy(), data.test_y[:6].numpy(), preds, opts.out / "examples.png")
    return out


def run_resolution(opts: ExperimentOptions) -> dict[str, Any]:
    """Input-resolution sweep of the teacher and SCLC+KD: accuracy and electronic MACs."""
    from fouroptics.nn.plots import plot_resolution

    preset = get_preset("resolution", opts.preset)
    _apply_overrides(preset, opts)
    base = _limit(_load(opts), opts)
    if opts.val:
        base = base.split_validation(opts.val, seed=1234)
    out: dict[str, Any] = _header(opts, preset, "validation" if opts.val else "test")
    out["resolutions"] = preset["resolutions"]
    out["models"] = {}
    rows = []
    from fouroptics.data.registry import resize

    for r in preset["resolutions"]:
        data = type(base)(
            base.name,
            resize(base.train_x, r),
            base.train_y,
            resize(base.test_x, r),
            base.test_y,
            base.num_classes,
        )
        t_cfg = teacher_config(r, data.num_classes, preset["teacher"]["widths"])
        s_cfg = sclc_config(r, data.num_classes, preset["student"]["channels"], **opts.student)
        accs: dict[str, list[float]] = {"teacher": [], "sclc_kd": []}
        secs: dict[str, list[float]] = {"teacher": [], "sclc_kd": []}
        models: dict[str, torch.nn.Module] = {}
        for seed in preset["seeds"]:
            tc = _train_cfg(preset["teacher"], preset, seed)
            teacher, h = _train_or_load(
                f"teacher@{r}",
                t_cfg,
                tc,
                data,
                "classify",
                opts.out / f"teacher_{r}" / f"seed{seed}",
                opts,
            )
            kc = _train_cfg(
                preset["student"], preset, seed, temperature=opts.temperature, alpha=opts.alpha
            )
            st, h2 = _train_or_load(
                f"sclc_kd@{r}",
                s_cfg,
                kc,
                data,
                "classify",
                opts.out / f"sclc_kd_{r}" / f"seed{seed}",
                opts,
                teacher=teacher,
            )
            models = {"teacher": teacher, "sclc_kd": st}
            for k, hh in (("teacher", h), ("sclc_kd", h2)):
                accs[k].append(hh["final"]["accuracy"])
                secs[k].append(hh["train_seconds"])
        for k in ("teacher", "sclc_kd"):
            macs = count_macs(models[k], (1, r, r))
            out["models"][f"{k}@{r}"] = {
                "resolution": r,
                "test_accuracy": accs[k],
                "electronic_macs": macs,
                "train_seconds": secs[k],
            }
            mean, std = _stats(accs[k])
            rows.append(
                {"model": k, "resolution": r, "electronic_macs": macs, "mean": mean, "std": std}
            )
    _write(opts.out, out, "test_accuracy")
    plot_resolution(rows, opts.out / "resolution.png")
    return out


def _write(out_dir: Path, results: dict[str, Any], metric: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "results.json", results)
    atomic_write_bytes(out_dir / "results.md", results_markdown(results, metric).encode())


def results_markdown(results: dict[str, Any], metric: str) -> str:
    """A Markdown table: mean and spread over seeds, gap to the teacher, electronic MACs."""
    models = results["models"]
    teacher_key = next((k for k in models if k.startswith("teacher")), None)
    lines = [
        f"# {results['task']} on {results['dataset']} (preset {results['preset']}, "
        f"detection {results['detection']})",
        "",
        f"Evaluated on {results['evaluated_on']}; seeds {results['seeds']}; KD T = "
        f"{results['kd']['temperature']}, alpha = {results['kd']['alpha']}, feature weight "
        f"{results['kd']['feature_weight']}.",
        "",
        f"| model | {metric} mean | std | gap to teacher | electronic MACs | train s (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        mean, std = _stats(m[metric])
        ref = name.replace("sclc_kd", "teacher").replace("sclc", "teacher")
        t = models.get(ref, models.get(teacher_key)) if teacher_key else None
        gap = f"{100 * (_stats(t[metric])[0] - mean):+.2f} pt" if t is not None else "-"
        lines.append(
            f"| {name} | {100 * mean:.2f}% | {100 * std:.2f} | {gap} | {m['electronic_macs']:,} "
            f"| {statistics.fmean(m['train_seconds']):.1f} |"
        )
    if "test_pixel_accuracy" in next(iter(models.values())):
        lines += ["", "| model | pixel accuracy mean | std |", "|---|---|---|"]
        for name, m in models.items():
            mean, std = _stats(m["test_pixel_accuracy"])
            lines.append(f"| {name} | {100 * mean:.2f}% | {100 * std:.2f} |")
    lines.append("")
    lines.append(f"Written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}.")
    return "\n".join(lines) + "\n"


RUNNERS = {"classify": run_classify, "segment": run_segment, "resolution": run_resolution}


def run(opts: ExperimentOptions) -> dict[str, Any]:
    """Check the options, claim ``opts.out`` (a new run, or ``resume`` with the settings its
    ``run.json`` records), then run ``opts.task``.

    Raises:
        ConfigError: an option out of range (named), an unknown experiment or preset.
        RunFolderError: ``opts.out`` holds another run (or, with ``resume``, other settings).
    """
    if opts.task not in RUNNERS:
        raise ConfigError(f"unknown experiment {opts.task!r}; allowed: {', '.join(RUNNERS)}")
    values = option_values(opts)
    check_options(values)
    if opts.detection not in ("ideal", "intensity", "signed"):
        raise ConfigError(f"--detection {opts.detection!r}: allowed: ideal, intensity, signed")
    preset = get_preset(opts.task, opts.preset)  # as the code defines it (before overrides)
    settings = {"experiment": opts.task, **values, **flatten("preset ", preset)}
    out = Path(opts.out)
    check_folder(out, "experiment", settings, opts.resume)
    rank, _ = rank_world()
    if rank == 0:
        opts.on_train = functools.partial(write_manifest, out, "experiment", settings)
    return RUNNERS[opts.task](opts)
