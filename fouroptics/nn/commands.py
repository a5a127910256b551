"""Command-line verbs ``train``, ``distill`` and ``experiment`` (wired up by fouroptics.cli).

Heavy imports (torch) happen inside the ``run_*`` functions so ``fouroptics --help`` stays
fast. Under ``torchrun --nproc_per_node=N`` training is data-parallel; rank 0 writes files.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fouroptics.errors import ConfigError, FouropticsError, one_line
from fouroptics.nn.options import check_images, check_limit, check_options

TASKS = ("classify", "segment")


DETECTIONS = ("ideal", "intensity", "signed")
#: the detection a camera measures (one exposure), the default of every verb.
DEFAULT_DETECTION = "intensity"
DEFAULT_CHANNELS = [16, 32]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="glyphs", help="mnist | idx:<folder> | glyphs (default)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--device", default=None, help="cpu | cuda[:k] (default: cuda if present)")


def _student(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--detection",
        default=None,
        choices=DETECTIONS,
        help=f"what the camera reads from the optical output (default: {DEFAULT_DETECTION})",
    )
    p.add_argument(
        "--channels", type=int, nargs="+", default=None, help="SCLC channels (default: 16 32)"
    )
    _dc_free(p)


def _dc_free(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dc-free",
        action="store_true",
        help="SCLC kernels with no DC response: an amplitude input SLM's contrast floor (its "
        "darkest level's light, uniform over the panel) then does not reach the camera",
    )


def _training(p: argparse.ArgumentParser, epochs: int, lr: float) -> None:
    p.add_argument("--task", default="classify", choices=TASKS)
    p.add_argument("--epochs", type=int, default=epochs, help=f"1 to 10,000 (default {epochs})")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val", type=int, default=0, help="evaluate on N images carved from train")
    p.add_argument("--limit-train", type=int, default=None, help="use the first N train samples")
    p.add_argument("--limit-test", type=int, default=None, help="use the first N test samples")


def _kd(p: argparse.ArgumentParser) -> None:
    p.add_argument("--temperature", "-T", type=float, default=10.0, help="KD temperature")
    p.add_argument("--alpha", type=float, default=0.5, help="KD weight of the soft loss")
    p.add_argument("--feature-weight", type=float, default=0.0, help="feature matching weight")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """``fouroptics train --model teacher|sclc ...``."""
    p.add_argument("--model", default="sclc", choices=("teacher", "sclc"))
    _common(p)
    _student(p)
    _training(p, epochs=5, lr=2e-3)
    p.add_argument(
        "--width",
        type=int,
        nargs="+",
        default=None,
        help="teacher widths (classify: 2, segment: 1)",
    )


def add_distill_arguments(p: argparse.ArgumentParser) -> None:
    """``fouroptics distill --teacher DIR ...``."""
    p.add_argument("--teacher", type=Path, required=True, help="folder of a trained teacher")
    _common(p)
    _student(p)
    _training(p, epochs=10, lr=3e-3)
    _kd(p)


def add_experiment_arguments(p: argparse.ArgumentParser) -> None:
    """``fouroptics experiment classify|segment|resolution ...``."""
    p.add_argument("experiment", choices=("classify", "segment", "resolution"))
    _common(p)
    p.add_argument("--preset", default="quick", choices=("quick", "paper", "demo"))
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument(
        "--detection",
        default=DEFAULT_DETECTION,
        choices=DETECTIONS,
        help=f"student detection (default: {DEFAULT_DETECTION})",
    )
    _dc_free(p)
    _kd(p)
    p.add_argument("--student-epochs", type=int, default=None)
    p.add_argument("--teacher-epochs", type=int, default=None)
    p.add_argument("--val", type=int, default=0, help="report on N images carved from train")
    p.add_argument("--resolutions", type=int, nargs="+", default=None)
    p.add_argument("--limit-train", type=int, default=None, help="use the first N train samples")
    p.add_argument("--limit-test", type=int, default=None, help="use the first N test samples")


def _known_errors(verb: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable]:
    """Known errors print one line and return 2 (also under ``python -m ...nn.commands``);
    ``args.debug`` (``fouroptics --debug``) re-raises them with their traceback."""

    def wrap(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(run)
        def guarded(args: argparse.Namespace) -> int:
            try:
                return run(args)
            except FouropticsError as exc:
                if getattr(args, "debug", False):
                    raise
                print(f"fouroptics {verb}: error: {one_line(exc)}", file=sys.stderr)
                return 2

        return guarded

    return wrap


def _option_values(args: argparse.Namespace) -> dict[str, Any]:
    """``{"--option-name": value}`` for every option the namespace holds."""
    skip = {"out", "resume", "debug", "verb", "teacher", "experiment", "model", "task", "dataset"}
    return {
        "--" + k.replace("_", "-"): v
        for k, v in vars(args).items()
        if not k.startswith("_") and k not in skip
    }


def _check_train_args(args: argparse.Namespace, verb: str) -> None:
    """Range checks, plus options that the chosen model or task would silently ignore."""
    check_options(_option_values(args))
    model = getattr(args, "model", "sclc")
    if model == "teacher":
        if args.dc_free:
            raise ConfigError("--dc-free is an SCLC option; --model teacher does not use it")
        for name in ("detection", "channels"):
            if getattr(args, name) is not None:
                raise ConfigError(f"--{name} is an SCLC option; --model teacher does not use it")
        n = 2 if args.task == "classify" else 1
        if args.width is not None and len(args.width) != n:
            raise ConfigError(
                f"--width {' '.join(map(str, args.width))}: the {args.task} teacher takes {n} "
                f"width{'s' if n > 1 else ''}"
            )
    elif getattr(args, "width", None) is not None:
        raise ConfigError("--width is a teacher option; --model sclc takes --channels")
    if args.val and args.task != "classify":
        raise ConfigError(f"--val {args.val}: {verb} carves validation images for classify only")


def _setup(args: argparse.Namespace):
    import torch

    from fouroptics.nn.train import default_device, init_distributed

    if args.device is not None:
        try:
            device = torch.device(args.device)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"--device {args.device!r}: not a device; allowed: cpu, cuda, cuda:K"
            ) from exc
        if device.type not in ("cpu", "cuda"):
            raise ConfigError(f"--device {args.device!r}: allowed: cpu, cuda, cuda:K")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if device.type == "cuda" and (device.index or 0) >= count:
            raise ConfigError(
                f"--device {args.device!r}: this machine has {count} CUDA device(s); "
                "use --device cpu" + (f" or cuda:0..{count - 1}" if count else "")
            )
    if args.threads is not None and not 1 <= args.threads <= 1024:  # torch overflows far above
        raise ConfigError(f"--threads: got {args.threads}; expected an integer from 1 to 1024")
    rank, world = init_distributed()
    threads = args.threads or max(1, (os.cpu_count() or 1) // world)
    torch.set_num_threads(threads)
    device = torch.device(args.device) if args.device else default_device()
    return rank, world, device


def _barrier(world: int) -> Callable[[], None] | None:
    if world <= 1:
        return None
    import torch.distributed as dist

    return dist.barrier


def _log(rank: int):
    return (lambda msg: print(msg, flush=True)) if rank == 0 else (lambda msg: None)


def _data(args: argparse.Namespace):
    from fouroptics.data import load_classification, load_segmentation

    n_tr, n_te = args.limit_train, args.limit_test
    if args.task == "classify":
        data = load_classification(args.dataset, seed=0, n_train=n_tr or 8000, n_test=n_te or 2000)
    else:
        data = load_segmentation(args.dataset, seed=0, n_train=n_tr or 4000, n_test=n_te or 1000)
    check_images(tuple(data.train_x.shape), args.dataset)
    check_limit("--limit-train", n_tr, len(data.train_x), "training")
    check_limit("--limit-test", n_te, len(data.test_x), "test")
    if n_tr:
        data.train_x, data.train_y = data.train_x[:n_tr], data.train_y[:n_tr]
    if n_te:
        data.test_x, data.test_y = data.test_x[:n_te], data.test_y[:n_te]
    if args.val:
        if not args.val < len(data.train_x):
            raise ConfigError(
                f"--val {args.val}: must be less than the {len(data.train_x)} training images"
            )
        data = data.split_validation(args.val, seed=1234)
    return data


def _student_config(args: argparse.Namespace, data) -> dict:
    from fouroptics.nn.models import sclc_config, seg_sclc_config

    res = data.train_x.shape[-1]
    chans = args.channels or DEFAULT_CHANNELS
    det = args.detection or DEFAULT_DETECTION
    if args.task == "classify":
        return sclc_config(res, data.num_classes, chans, det, dc_free=args.dc_free)
    return seg_sclc_config(res, data.num_classes, chans, det, dc_free=args.dc_free)


def _settings(args: argparse.Namespace, model_cfg: dict, **extra: Any) -> dict[str, Any]:
    """What defines a train/distill run (run.json): dataset, model config, training options."""
    from fouroptics.nn.runfolder import flatten

    keys = ("dataset", "task", "epochs", "lr", "batch_size", "seed", "val")
    settings = {"--" + k.replace("_", "-"): getattr(args, k) for k in keys}
    settings["--limit-train"] = args.limit_train
    settings["--limit-test"] = args.limit_test
    kind = model_cfg["kind"]
    if "sclc" in kind:
        settings["--model"] = "sclc"
        settings["--detection"] = model_cfg["detection"]
        settings["--channels"] = model_cfg["channels"]
        settings["--dc-free"] = bool(model_cfg.get("dc_free", False))
    else:
        settings["--model"] = "teacher"
        settings["--width"] = model_cfg.get("widths", [model_cfg.get("width")])
    covered = ("kind", "detection", "channels", "widths", "width", "dc_free")
    derived = {k: v for k, v in model_cfg.items() if k not in covered}
    settings.update(flatten("model ", derived))  # from the data: resolution, classes, sizes
    settings.update(extra)
    return settings


def _finish(args, rank: int, kind: str, model, hist, data) -> int:
    if rank != 0:
        return 0
    from fouroptics.nn.macs import count_macs
    from fouroptics.report import write_json

    final = {k: v for k, v in hist["final"].items() if k != "confusion"}
    summary = {
        "verb": kind,
        "dataset": args.dataset,
        "task": args.task,
        "final": final,
        "electronic_macs": count_macs(model, tuple(data.train_x.shape[1:])),
        "train_seconds": hist["train_seconds"],
        "history": {k: hist[k] for k in ("epoch", "train_loss", "test_metric")},
    }
    write_json(args.out / "summary.json", summary)
    print(f"{kind}: {json.dumps(final)}; wrote {args.out}/ (model.pt, summary.json)")
    return 0


@_known_errors("train")
def run_train(args: argparse.Namespace) -> int:
    """Train one model (teacher or SCLC without KD) on ``--dataset``; returns an exit code."""
    from fouroptics.nn.models import build_model, seg_teacher_config, teacher_config
    from fouroptics.nn.runfolder import claim
    from fouroptics.nn.train import TrainConfig, fit_data

    _check_train_args(args, "train")
    rank, world, device = _setup(args)
    data = _data(args)
    if args.model == "teacher":
        if args.task == "classify":
            cfg = teacher_config(data.train_x.shape[-1], data.num_classes, args.width or (32, 64))
        else:
            cfg = seg_teacher_config(data.num_classes, (args.width or [8])[0])
    else:
        cfg = _student_config(args, data)
    claim(args.out, "train", _settings(args, cfg), args.resume, rank, _barrier(world))
    model = build_model(cfg, seed=args.seed)
    tc = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    hist = fit_data(
        model,
        data,
        tc,
        task=args.task,
        out_dir=args.out,
        resume=args.resume,
        model_config=cfg,
        device=device,
        log=_log(rank),
    )
    return _finish(args, rank, f"train {args.model}", model, hist, data)


def _base_name(name: str) -> str:
    """A dataset name without the ``[valN]`` suffix of a validation split."""
    return re.sub(r"\[val\d+\]$", "", name)


def check_teacher(path: Path, config: dict[str, Any], task: str, data: Any) -> None:
    """Refuse a ``--teacher`` folder that holds no teacher for ``task`` or was trained on
    another dataset, image size or class count than ``data``.

    Raises:
        ConfigError: naming the folder, what it holds and what this run needs.
    """
    kind = (config.get("model") or {}).get("kind")
    want = "teacher" if task == "classify" else "seg_teacher"
    if kind != want:
        what = "an SCLC student" if kind in ("sclc", "seg_sclc") else f"a '{kind}' model"
        hint = " --task segment" if task == "segment" else ""
        raise ConfigError(
            f"--teacher {path}: holds {what} (kind '{kind}'), not a {task} teacher; give the "
            f"--out folder of `fouroptics train --model teacher{hint}`"
        )
    tdata = config.get("data")
    if not tdata:
        raise ConfigError(
            f"--teacher {path}: its model does not record the dataset it was trained on "
            "(trained outside `fouroptics train`); retrain it with `fouroptics train --model "
            "teacher`"
        )
    if _base_name(str(tdata.get("name"))) != _base_name(data.name):
        raise ConfigError(
            f"--teacher {path}: trained on dataset '{tdata.get('name')}', this run uses "
            f"'{data.name}'; distill on the teacher's dataset or train a teacher on this one"
        )
    shape, classes = list(data.train_x.shape[1:]), int(data.num_classes)
    if list(tdata.get("image_shape", [])) != shape or tdata.get("num_classes") != classes:
        raise ConfigError(
            f"--teacher {path}: trained on images {tdata.get('image_shape')} with "
            f"{tdata.get('num_classes')} classes, this run's data are {shape} with {classes}"
        )


@_known_errors("distill")
def run_distill(args: argparse.Namespace) -> int:
    """Distill a trained teacher (``--teacher DIR``) into an SCLC student."""
    from fouroptics.nn.models import build_model
    from fouroptics.nn.runfolder import claim
    from fouroptics.nn.train import TrainConfig, fit_data, load_run

    _check_train_args(args, "distill")
    rank, world, device = _setup(args)
    data = _data(args)
    try:
        teacher, t_config = load_run(args.teacher, device)
    except FouropticsError as exc:
        raise type(exc)(f"--teacher {args.teacher}: {exc}") from exc
    check_teacher(args.teacher, t_config, args.task, data)
    cfg = _student_config(args, data)
    settings = _settings(
        args,
        cfg,
        **{
            "--teacher": str(args.teacher.resolve()),
            "teacher sha256": t_config["sha256"],
            "--temperature": args.temperature,
            "--alpha": args.alpha,
            "--feature-weight": args.feature_weight,
        },
    )
    claim(args.out, "distill", settings, args.resume, rank, _barrier(world))
    model = build_model(cfg, seed=args.seed)
    tc = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        temperature=args.temperature,
        alpha=args.alpha,
        feature_weight=args.feature_weight,
    )
    hist = fit_data(
        model,
        data,
        tc,
        task=args.task,
        out_dir=args.out,
        teacher=teacher,
        resume=args.resume,
        model_config=cfg,
        device=device,
        log=_log(rank),
    )
    return _finish(args, rank, "distill", model, hist, data)


@_known_errors("experiment")
def run_experiment(args: argparse.Namespace) -> int:
    """Teacher vs SCLC vs SCLC+KD; writes results.json, results.md and plots into ``--out``."""
    from fouroptics.nn.experiment import ExperimentOptions, run

    check_options(_option_values(args))
    rank, _world, device = _setup(args)
    opts = ExperimentOptions(
        task=args.experiment,
        dataset=args.dataset,
        out=args.out,
        preset=args.preset,
        seeds=args.seeds,
        detection=args.detection,
        dc_free=args.dc_free,
        temperature=args.temperature,
        alpha=args.alpha,
        feature_weight=args.feature_weight,
        student_epochs=args.student_epochs,
        teacher_epochs=args.teacher_epochs,
        val=args.val,
        resolutions=args.resolutions,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        resume=args.resume,
        device=device,
        log=_log(rank),
    )
    results = run(opts)
    if rank == 0:
        print((args.out / "results.md").read_text())
        print(
            f"wrote {args.out}/results.json, results.md and plots ({len(results['models'])} models)"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m fouroptics.nn.commands VERB ...``), e.g. for torchrun."""
    parser = argparse.ArgumentParser(prog="python -m fouroptics.nn.commands")
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("train", "distill", "experiment"):
        globals()[f"add_{verb}_arguments"](sub.add_parser(verb))
    parser.add_argument("--debug", action="store_true", help="show tracebacks of known errors")
    args = parser.parse_args(argv)
    from fouroptics.errors import FouropticsError, one_line
    from fouroptics.io.run_folder import run_folder_lock

    try:
        with run_folder_lock(args):  # the --out lock, as in fouroptics.cli.main (rank 0 only)
            return int(globals()[f"run_{args.verb}"](args))
    except FouropticsError as exc:  # e.g. the folder is locked: one line, exit 2
        if args.debug:
            raise
        print(f"fouroptics {args.verb}: error: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
