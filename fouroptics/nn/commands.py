"""Command-line verbs ``train``, ``distill`` and ``experiment`` (wired up by fouroptics.cli).

Heavy imports (torch) happen inside the ``run_*`` functions so ``fouroptics --help`` stays
fast. Under ``torchrun --nproc_per_node=N`` training is data-parallel; rank 0 writes files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

TASKS = ("classify", "segment")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="glyphs", help="mnist | idx:<folder> | glyphs (default)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--device", default=None, help="cpu | cuda[:k] (default: cuda if present)")


def _student(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--detection",
        default="ideal",
        choices=("ideal", "intensity", "signed"),
        help="what the camera reads from the optical output",
    )
    p.add_argument("--channels", type=int, nargs="+", default=[16, 32], help="SCLC channels")


def _training(p: argparse.ArgumentParser, epochs: int, lr: float) -> None:
    p.add_argument("--task", default="classify", choices=TASKS)
    p.add_argument("--epochs", type=int, default=epochs)
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
    p.add_argument("--width", type=int, nargs="+", default=None, help="teacher widths")


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
    p.add_argument("--preset", default="quick", choices=("quick", "paper"))
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument(
        "--detection",
        default="ideal",
        choices=("ideal", "intensity", "signed"),
        help="student detection",
    )
    _kd(p)
    p.add_argument("--student-epochs", type=int, default=None)
    p.add_argument("--teacher-epochs", type=int, default=None)
    p.add_argument("--val", type=int, default=0, help="report on N images carved from train")
    p.add_argument("--resolutions", type=int, nargs="+", default=None)
    p.add_argument("--limit-train", type=int, default=None, help="use the first N train samples")
    p.add_argument("--limit-test", type=int, default=None, help="use the first N test samples")


def _setup(args: argparse.Namespace):
    import torch

    from fouroptics.nn.train import default_device, init_distributed

    rank, world = init_distributed()
    threads = args.threads or max(1, (os.cpu_count() or 1) // world)
    torch.set_num_threads(threads)
    device = torch.device(args.device) if args.device else default_device()
    return rank, world, device


def _log(rank: int):
    return (lambda msg: print(msg, flush=True)) if rank == 0 else (lambda msg: None)


def _data(args: argparse.Namespace):
    from fouroptics.data import load_classification, load_segmentation

    n_tr, n_te = args.limit_train, args.limit_test
    if args.task == "classify":
        data = load_classification(args.dataset, seed=0, n_train=n_tr or 8000, n_test=n_te or 2000)
        if args.val:
            data = data.split_validation(args.val, seed=1234)
    else:
        data = load_segmentation(args.dataset, seed=0, n_train=n_tr or 4000, n_test=n_te or 1000)
    if n_tr:
        data.train_x, data.train_y = data.train_x[:n_tr], data.train_y[:n_tr]
    if n_te:
        data.test_x, data.test_y = data.test_x[:n_te], data.test_y[:n_te]
    return data


def _student_config(args: argparse.Namespace, data) -> dict:
    from fouroptics.nn.models import sclc_config, seg_sclc_config

    res = data.train_x.shape[-1]
    if args.task == "classify":
        return sclc_config(res, data.num_classes, args.channels, args.detection)
    return seg_sclc_config(res, data.num_classes, args.channels, args.detection)


def _finish(args, rank: int, kind: str, model, hist, data) -> int:
    if rank != 0:
        return 0
    from fouroptics.nn.macs import count_macs

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
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{kind}: {json.dumps(final)}; wrote {args.out}/ (model.pt, summary.json)")
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Train one model (teacher or SCLC without KD) on ``--dataset``; returns an exit code."""
    from fouroptics.nn.models import build_model, seg_teacher_config, teacher_config
    from fouroptics.nn.train import TrainConfig, fit_data

    try:
        rank, _world, device = _setup(args)
        data = _data(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fouroptics train: {exc}", file=sys.stderr)
        return 2
    if args.model == "teacher":
        if args.task == "classify":
            cfg = teacher_config(data.train_x.shape[-1], data.num_classes, args.width or (32, 64))
        else:
            cfg = seg_teacher_config(data.num_classes, (args.width or [8])[0])
    else:
        cfg = _student_config(args, data)
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


def run_distill(args: argparse.Namespace) -> int:
    """Distill a trained teacher (``--teacher DIR``) into an SCLC student."""
    from fouroptics.nn.models import build_model
    from fouroptics.nn.train import TrainConfig, fit_data, load_model

    try:
        rank, _world, device = _setup(args)
        teacher, _ = load_model(args.teacher, device)
        data = _data(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fouroptics distill: {exc}", file=sys.stderr)
        return 2
    cfg = _student_config(args, data)
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


def run_experiment(args: argparse.Namespace) -> int:
    """Teacher vs SCLC vs SCLC+KD; writes results.json, results.md and plots into ``--out``."""
    from fouroptics.nn.experiment import ExperimentOptions, run

    try:
        rank, _world, device = _setup(args)
    except ValueError as exc:
        print(f"fouroptics experiment: {exc}", file=sys.stderr)
        return 2
    opts = ExperimentOptions(
        task=args.experiment,
        dataset=args.dataset,
        out=args.out,
        preset=args.preset,
        seeds=args.seeds,
        detection=args.detection,
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
    try:
        results = run(opts)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fouroptics experiment: {exc}", file=sys.stderr)
        return 2
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
    args = parser.parse_args(argv)
    from fouroptics.io.run_folder import run_folder_lock

    with run_folder_lock(args):  # the --out lock, as in fouroptics.cli.main (rank 0 only)
        return int(globals()[f"run_{args.verb}"](args))


if __name__ == "__main__":
    sys.exit(main())
