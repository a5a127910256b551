"""``finetune`` under ``torchrun``: the training step, data-parallel (DDP) across the ranks.

Every rank holds the same measured features (:mod:`devices.run.shard` gathers them) and draws
the same permutation. With ``--kernels`` the costly part, the differentiable twin (the optics'
torch model), is sharded: each rank evaluates every ``world``-th image of the batch, the twin
features are gathered with their gradients (:func:`gather_rows`), and every rank runs the head
on the whole batch (its BatchNorm sees the batch's statistics, as in one process: CPU has no
SyncBatchNorm). The backward sends each rank's twin rows the gradient of every rank's (equal)
loss, ``world`` times its own; DDP's mean over the ranks then gives each parameter the
gradient of the batch's mean loss, as one process. Head only, the ranks compute the same step
(the measurements were the sharded work). DDP reduces on a process group of its own, apart
from the gather's.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn


def gather_rows(mine: torch.Tensor, n: int, world: int) -> torch.Tensor:
    """The (n, ...) rows of a batch from each rank's rows ``rank, rank + world, ...``
    (``mine``), with their gradients (each rank receives the sum over the ranks of the
    gradients of its rows)."""
    from torch.distributed.nn.functional import all_gather

    m = -(-n // world)  # rows per rank, padded
    pad = torch.zeros((m - len(mine), *mine.shape[1:]), dtype=mine.dtype)
    parts = all_gather(torch.cat([mine, pad]))  # world x (m, ...)
    return torch.stack(parts, 1).reshape(m * world, *mine.shape[1:])[:n]


class _Forward(nn.Module):
    """Logits of a batch: the head on the measured features, or with ``kernels`` on the
    straight-through features ``twin + (measured - twin).detach()``."""

    def __init__(self, model: nn.Module, kernels: bool, shard: Any = None) -> None:
        super().__init__()
        self.model = model
        self.kernels = kernels
        self.rank, self.world = (0, 1) if shard is None else (shard.rank, shard.world)

    def forward(self, x: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
        """``x`` (B, C_in, n, n) images, ``measured`` (B, C, n', n') features -> (B, k, ...)
        logits."""
        feats = measured
        if self.kernels:
            if self.world > 1:
                mine = self.model.features(x[self.rank :: self.world])
                twin = gather_rows(mine, len(x), self.world)
            else:
                twin = self.model.features(x)
            feats = twin + (measured - twin).detach()
        return self.model.head(feats)


class Step:
    """The training step's forward: DDP-wrapped under a :class:`devices.run.shard.Shard`,
    plain in one process.

    Args:
        model: the SCLC (``features``, ``head``).
        kernels: train the optics too (else the head only).
        shard: this rank's share, or None (one process).
    """

    def __init__(self, model: nn.Module, kernels: bool, shard: Any = None) -> None:
        inner: nn.Module = _Forward(model, kernels, shard)
        if shard is not None and shard.world > 1:
            import torch.distributed as dist
            from torch.nn.parallel import DistributedDataParallel

            inner = DistributedDataParallel(
                inner, process_group=dist.new_group(backend="gloo"),
                find_unused_parameters=not kernels,
            )  # fmt: skip
        self.module = inner

    def __call__(self, x: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
        return self.module(x, measured)


_folders: dict[int, Path] = {}


def model_folder(out: Path, rank: int) -> Path:
    """Where a rank saves a recompiled model: ``out / "model"`` on rank 0, a temporary folder
    (removed at exit) on the others, which write nothing into --out."""
    if rank == 0:
        return out / "model"
    if rank not in _folders:
        _folders[rank] = Path(tempfile.mkdtemp(prefix=f"fouroptics-rank{rank}-"))
        atexit.register(shutil.rmtree, _folders[rank], True)
    return _folders[rank] / "model"
