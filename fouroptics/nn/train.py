"""Training loop: cross-entropy or knowledge distillation, per-epoch checkpoints and resume,
CUDA when present, data-parallel under ``torchrun`` (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from fouroptics.errors import DataError, FileFormatError, RunFolderError
from fouroptics.nn.kd import PAPER_ALPHA, PAPER_TEMPERATURE, FeatureMatcher, kd_loss
from fouroptics.nn.metrics import accuracy, confusion_matrix, mean_iou
from fouroptics.nn.runfolder import differences, flatten, model_folders, read_manifest
from fouroptics.nn.torchfile import load_verified, read_digest, save_verified
from fouroptics.report import write_json

CHECKPOINT = "checkpoint.pt"
FINAL = "model.pt"


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (learning rate in Adam units; cosine schedule)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    temperature: float = PAPER_TEMPERATURE
    alpha: float = PAPER_ALPHA
    feature_weight: float = 0.0
    class_weights: list[float] | None = None  # cross-entropy weight per class (segmentation)


def default_device() -> torch.device:
    """CUDA (this rank's GPU under torchrun) when present, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def init_distributed() -> tuple[int, int]:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); returns
    ``(rank, world_size)``, ``(0, 1)`` otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def rank_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the joined process group, ``(0, 1)`` outside torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = 500
) -> torch.Tensor:
    """Model outputs (logits) for ``x`` ``[N, ...]`` in eval mode, on the CPU."""
    model.eval()
    outs = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str, device: torch.device
) -> dict[str, Any]:
    """Test metrics: ``accuracy`` and ``confusion`` (classify) or ``miou``,
    ``pixel_accuracy`` and ``confusion`` (segment)."""
    logits = predict(model, x, device)
    classes = logits.shape[1]
    cm = confusion_matrix(logits.argmax(1), y, classes)
    if task == "classify":
        return {"accuracy": accuracy(cm), "confusion": cm.tolist()}
    return {"miou": mean_iou(cm), "pixel_accuracy": accuracy(cm), "confusion": cm.tolist()}


def fit(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    cfg: TrainConfig,
    *,
    task: str = "classify",
    out_dir: str | Path | None = None,
    teacher: nn.Module | None = None,
    resume: bool = False,
    model_config: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
    device: torch.device | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``model`` in place and return its history.

    With ``teacher`` the loss is :func:`kd_loss` (plus ``feature_weight`` times the
    :class:`FeatureMatcher` term when > 0), else cross-entropy. Images ``[N, C, H, W]``;
    labels ``[N]`` (classify) or ``[N, H, W]`` (segment). After every epoch the test metric is
    recorded and, with ``out_dir``, ``out_dir/checkpoint.pt`` is written atomically; with
    ``resume`` a run continues after its last finished epoch (a finished run is not redone).
    At the end ``out_dir/model.pt`` (weights, model config, history) and ``config.json``.
    Both ``.pt`` files carry a sha256 (:mod:`fouroptics.nn.torchfile`). ``dataset`` (name,
    image shape, classes; :func:`fit_data` fills it) is stored with them.

    Raises:
        RunFolderError: ``out_dir`` already holds a checkpoint or model and ``resume`` is
            False; or ``resume`` and the checkpoint was written with another model config,
            training config or dataset (each difference listed), or does not fit ``model``.
        FileFormatError: the checkpoint is corrupt (sha256 mismatch, truncated, foreign).

    Returns ``{"epoch": [...], "train_loss": [...], "test_metric": [...], "epoch_seconds":
    [...], "train_seconds": float, "final": evaluate(...)}``.
    """
    if task not in ("classify", "segment"):
        raise ValueError(f"unknown task {task!r}; allowed: classify, segment")
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise DataError("image/label count mismatch in the training or test tensors")
    device = device or default_device()
    rank, world = rank_world()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and not resume:
        held = [n for n in (CHECKPOINT, FINAL) if (out / n).exists()]
        if held:
            raise RunFolderError(
                f"folder {out} holds a {'finished' if FINAL in held else 'partial'} run "
                f"({', '.join(held)}); use --resume to continue it or another --out"
            )
    if out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    model.to(device)
    matcher: FeatureMatcher | None = None
    params = list(model.parameters())
    if teacher is not None:
        teacher.to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        if cfg.feature_weight > 0:
            with torch.no_grad():
                probe = train_x[:2].to(device)
                cs = model.features(probe).shape[1]  # type: ignore[operator]
                ct = teacher.features(probe).shape[1]  # type: ignore[operator]
            matcher = FeatureMatcher(cs, ct).to(device)
            params += list(matcher.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    hist: dict[str, Any] = {"epoch": [], "train_loss": [], "test_metric": [], "epoch_seconds": []}
    start = 0
    ckpt_path = out / CHECKPOINT if out is not None else None
    if resume and ckpt_path is not None and not ckpt_path.is_file() and (out / FINAL).is_file():
        raise RunFolderError(
            f"--resume {out}: holds {FINAL} but no {CHECKPOINT} to continue from; "
            "use another --out (or load the finished model with load_run)"
        )
    if resume and ckpt_path is not None and ckpt_path.is_file():
        ck = load_verified(ckpt_path, map_location=device)
        asked = _run_record(model_config, cfg, dataset)
        diff = differences(
            _run_record(ck.get("model_config"), ck.get("train_config"), ck.get("data")), asked
        )
        if diff:
            raise RunFolderError(
                f"--resume {ckpt_path}: the checkpoint was written with other settings: "
                f"{'; '.join(diff)}"
            )
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            if matcher is not None and ck.get("matcher") is not None:
                matcher.load_state_dict(ck["matcher"])
            hist, start = ck["history"], int(ck["epoch"]) + 1
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise RunFolderError(
                f"--resume {ckpt_path}: the checkpoint does not fit this model: "
                f"{' '.join(str(exc).split())[:300]}"
            ) from exc
        if rank == 0:
            log(f"resuming {out} after epoch {ck['epoch'] + 1}/{cfg.epochs}")
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    # Teacher logits are fixed (teacher in eval mode): compute them once for classification.
    cached_t: torch.Tensor | None = None
    if teacher is not None and task == "classify" and matcher is None and start < cfg.epochs:
        cached_t = predict(teacher, train_x, device)
    metric_key = "accuracy" if task == "classify" else "miou"
    weight = (
        torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
        if cfg.class_weights
        else None
    )
    n = len(train_x)
    per_rank = max(cfg.batch_size // world, 1)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=g)
        perm = perm[: (n // world) * world][rank::world]  # this rank's shard, equal sizes
        net.train()
        total, count = torch.zeros((), device=device), 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # dropout: reproducible, local
            for i in range(0, len(perm), per_rank):
                idx = perm[i : i + per_rank]
                xb, yb = train_x[idx].to(device), train_y[idx].to(device)
                if teacher is None:
                    logits = net(xb)
                    loss = F.cross_entropy(logits, yb, weight=weight)
                else:
                    if cached_t is not None:
                        t_logits = cached_t[idx].to(device)
                    else:
                        with torch.no_grad():
                            t_logits = teacher(xb)
                    logits = net(xb)
                    loss = kd_loss(logits, t_logits, yb, cfg.temperature, cfg.alpha, weight)
                    if matcher is not None:
                        with torch.no_grad():
                            t_feat = teacher.features(xb)  # type: ignore[operator]
                        s_feat = model.features(xb)  # type: ignore[operator]
                        loss = loss + cfg.feature_weight * matcher(s_feat, t_feat)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
                count += len(idx)
        sched.step()
        metric = evaluate(model, test_x, test_y, task, device)[metric_key]
        hist["epoch"].append(epoch + 1)
        hist["train_loss"].append(float(total) / max(count, 1))
        hist["test_metric"].append(metric)
        hist["epoch_seconds"].append(time.perf_counter() - t0)
        hist["samples_per_rank"] = len(perm)
        if rank == 0:
            if ckpt_path is not None:
                state = {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "matcher": matcher.state_dict() if matcher is not None else None,
                    "history": hist,
                    "train_config": asdict(cfg),
                    "model_config": model_config,
                    "data": dataset,
                }
                save_verified(state, ckpt_path)
            log(
                f"  epoch {epoch + 1}/{cfg.epochs} loss {hist['train_loss'][-1]:.4f} "
                f"test {metric_key} {metric:.4f} ({hist['epoch_seconds'][-1]:.1f} s)"
            )
        if world > 1:
            dist.barrier()
    hist["train_seconds"] = float(sum(hist["epoch_seconds"]))
    hist["final"] = evaluate(model, test_x, test_y, task, device)
    if out is not None and rank == 0:
        save_model(out, model, model_config, hist, cfg, dataset)
    return hist


def _run_record(
    model_config: dict | None, train_config: dict | TrainConfig | None, data: dict | None
) -> dict[str, Any]:
    """What defines a training run, flat: ``model.*``, ``train.*`` and ``data.*`` fields."""
    if isinstance(train_config, TrainConfig):
        train_config = asdict(train_config)
    return {
        **flatten("model.", model_config or {}),
        **flatten("train.", train_config or {}),
        **flatten("data.", data or {}),
    }


def dataset_info(data: Any) -> dict[str, Any]:
    """What a model file records of its training data: name, image shape, classes, sizes."""
    return {
        "name": data.name,
        "image_shape": list(data.train_x.shape[1:]),
        "num_classes": int(data.num_classes),
        "n_train": len(data.train_x),
        "n_test": len(data.test_x),
    }


def fit_data(model: nn.Module, data: Any, cfg: TrainConfig, **kwargs: Any) -> dict[str, Any]:
    """:func:`fit` on a dataset object with ``train_x, train_y, test_x, test_y`` tensors
    (its :func:`dataset_info` is recorded in the checkpoint and model)."""
    kwargs.setdefault("dataset", dataset_info(data))
    return fit(model, data.train_x, data.train_y, data.test_x, data.test_y, cfg, **kwargs)


def save_model(
    out: Path,
    model: nn.Module,
    model_config: dict[str, Any] | None,
    hist: dict,
    cfg: TrainConfig,
    dataset: dict[str, Any] | None = None,
) -> Path:
    """Write ``out/model.pt`` (state dict, model config, training config, dataset, history;
    sha256-checked) and ``out/config.json`` (the same without weights, for people)."""
    state = {
        "model_config": model_config,
        "train_config": asdict(cfg),
        "data": dataset,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "history": hist,
    }
    save_verified(state, out / FINAL)
    write_json(out / "config.json", {"model": model_config, "train": asdict(cfg), "data": dataset})
    return out / FINAL


def load_model(path: str | Path, device: torch.device | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a model saved by :func:`fit` (``model.pt`` or the folder holding it).

    Returns ``(model in eval mode on device, state)`` where ``state`` holds ``model_config``,
    ``train_config``, ``data`` (None for models trained outside :func:`fit_data`),
    ``history`` and ``state_dict``.

    Raises:
        FileFormatError: no model file, or a corrupt one (sha256 mismatch, truncated, not a
            fouroptics model), or one whose config and weights do not rebuild a model.
    """
    from fouroptics.nn.models import build_model

    path = Path(path)
    if path.is_dir():
        path = path / FINAL
    if not path.is_file():
        raise FileFormatError(f"no saved model at {path}")
    state = load_verified(path)
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
        raise FileFormatError(f"{path}: a checksummed torch file but not a model (no state_dict)")
    if not isinstance(state.get("model_config"), dict):
        raise FileFormatError(f"{path} holds no model config; cannot rebuild the model")
    try:
        model = build_model(state["model_config"])
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise FileFormatError(
            f"{path}: its model config and weights do not rebuild a model: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from exc
    state.setdefault("data", None)
    state.setdefault("history", {})
    return model.to(device or default_device()).eval(), state


def load_run(run_dir: str | Path, device: torch.device | None = None) -> tuple[nn.Module, dict]:
    """The trained model of a run folder (``train``/``distill --out``, or one
    ``<model>/seed<k>/`` folder of an experiment), verified, and what defines it.

    This is the loader for tools that consume trained models (the compiler): it checks the
    sha256 of ``model.pt`` and rebuilds the model from the config stored beside its weights.

    Returns:
        ``(model, config)``: the model in eval mode on ``device`` (default: CUDA when present),
        and ``config = {"model": model config (kind, resolution, classes, channels, sizes,
        detection, ...), "train": training config, "data": {name, image_shape, num_classes,
        n_train, n_test} or None, "history": per-epoch curves and final metrics, "verb" and
        "settings": the run's ``run.json`` (None when trained outside the CLI), "path": the
        model file, "sha256": its payload digest}``.

    Raises:
        RunFolderError: ``run_dir`` is an experiment folder (names its model folders) or an
            unfinished run (a checkpoint but no model).
        FileFormatError: no run folder or model there, or a corrupt model file.
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        run_dir = run_dir.parent
    if not run_dir.is_dir():
        raise FileFormatError(f"{run_dir}: no such run folder")
    if not (run_dir / FINAL).is_file():
        inner = [str(p) for p in model_folders(run_dir)]
        if inner:
            raise RunFolderError(
                f"{run_dir} is an experiment folder; give one of its model folders: "
                + ", ".join(inner[:6])
                + (" ..." if len(inner) > 6 else "")
            )
        if (run_dir / CHECKPOINT).is_file():
            raise RunFolderError(
                f"{run_dir}: unfinished run (a {CHECKPOINT} but no {FINAL}); "
                "finish it with --resume"
            )
        raise FileFormatError(f"{run_dir}: no {FINAL} (not a trained run folder)")
    model, state = load_model(run_dir / FINAL, device)
    manifest = read_manifest(run_dir)
    config = {
        "model": state["model_config"],
        "train": state.get("train_config"),
        "data": state["data"],
        "history": state["history"],
        "verb": manifest["verb"] if manifest else None,
        "settings": manifest["settings"] if manifest else None,
        "path": str(run_dir / FINAL),
        "sha256": read_digest(run_dir / FINAL),
    }
    return model, config
