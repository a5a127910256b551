"""Containers for datasets: in-memory tensors, images float32 in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fouroptics.errors import ConfigError


@dataclass
class TrainTestSplit:
    """Tensors of a train/test split: images ``*_x``, labels ``*_y``, and the class count."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int


@dataclass
class ClassificationData(TrainTestSplit):
    """Train/test split of a classification dataset.

    ``train_x``/``test_x``: float32 ``[N, 1, H, W]`` in [0, 1]; ``train_y``/``test_y``: int64
    ``[N]`` class indices in ``[0, num_classes)``.
    """

    def split_validation(self, n_val: int, seed: int) -> ClassificationData:
        """Carve ``n_val`` images out of the training set (a seeded random subset) as the new
        test set, for tuning without touching the real test images."""
        n = len(self.train_x)
        if not 0 < n_val < n:
            raise ConfigError(
                f"--val {n_val}: the validation split must hold 1..{n - 1} of the {n} "
                "training images"
            )
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        val, tr = perm[:n_val], perm[n_val:]
        return ClassificationData(
            name=f"{self.name}[val{n_val}]",
            train_x=self.train_x[tr],
            train_y=self.train_y[tr],
            test_x=self.train_x[val],
            test_y=self.train_y[val],
            num_classes=self.num_classes,
        )


@dataclass
class SegmentationData(TrainTestSplit):
    """Train/test split of a segmentation dataset.

    ``*_x``: float32 ``[N, 1, H, W]``; ``*_y``: int64 ``[N, H, W]`` per-pixel labels, 0 is the
    background and ``c + 1`` the class ``c`` of the source classification dataset.
    """
