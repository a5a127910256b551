"""Training loop: cross-entropy or knowledge distillation, per-epoch checkpoints and resume,
CUDA when present, data-parallel under ``torchrun`` (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import json
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

from fouroptics.io.atomic import atomic_target
from fouroptics.nn.kd import PAPER_ALPHA, PAPER_TEMPERATURE, FeatureMatcher, kd_loss
from fouroptics.nn.metrics import accuracy, confusion_matrix, mean_iou

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


def _world() -> tuple[int, int]:
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


def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_target(path) as tmp:
        torch.save(obj, tmp)


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

    Returns ``{"epoch": [...], "train_loss": [...], "test_metric": [...], "epoch_seconds":
    [...], "train_seconds": float, "final": evaluate(...)}``.
    """
    if task not in ("classify", "segment"):
        raise ValueError(f"unknown task {task!r}; allowed: classify, segment")
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("image/label count mismatch in the training or test tensors")
    device = device or default_device()
    rank, world = _world()
    out = Path(out_dir) if out_dir is not None else None
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
    if resume and ckpt_path is not None and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if matcher is not None and ck.get("matcher") is not None:
            matcher.load_state_dict(ck["matcher"])
        hist, start = ck["history"], ck["epoch"] + 1
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
                }
                _atomic_save(state, ckpt_path)
            log(
                f"  epoch {epoch + 1}/{cfg.epochs} loss {hist['train_loss'][-1]:.4f} "
                f"test {metric_key} {metric:.4f} ({hist['epoch_seconds'][-1]:.1f} s)"
            )
        if world > 1:
            dist.barrier()
    hist["train_seconds"] = float(sum(hist["epoch_seconds"]))
    hist["final"] = evaluate(model, test_x, test_y, task, device)
    if out is not None and rank == 0:
        save_model(out, model, model_config, hist, cfg)
    return hist


def fit_data(model: nn.Module, data: Any, cfg: TrainConfig, **kwargs: Any) -> dict[str, Any]:
    """:func:`fit` on a dataset object with ``train_x, train_y, test_x, test_y`` tensors."""
    return fit(model, data.train_x, data.train_y, data.test_x, data.test_y, cfg, **kwargs)


def save_model(
    out: Path, model: nn.Module, model_config: dict[str, Any] | None, hist: dict, cfg: TrainConfig
) -> Path:
    """Write ``out/model.pt`` (state dict, model config, history) and ``out/config.json``."""
    state = {
        "model_config": model_config,
        "train_config": asdict(cfg),
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "history": hist,
    }
    _atomic_save(state, out / FINAL)
    cfg_json = {"model": model_config, "train": asdict(cfg)}
    (out / "config.json").write_text(json.dumps(cfg_json, indent=2))
    return out / FINAL


def load_model(path: str | Path, device: torch.device | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a model saved by :func:`fit` (``model.pt`` or the folder holding it)."""
    from fouroptics.nn.models import build_model

    path = Path(path)
    if path.is_dir():
        path = path / FINAL
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not state.get("model_config"):
        raise ValueError(f"{path} holds no model config; cannot rebuild the model")
    model = build_model(state["model_config"])
    model.load_state_dict(state["state_dict"])
    return model.to(device or default_device()).eval(), state
