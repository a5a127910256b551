"""Load an MNIST-format folder (train-* and/or t10k-* IDX files) into train/test tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fouroptics.data.idx import IDXError, read_idx
from fouroptics.data.types import ClassificationData

#: project convention when only the 10,000-image t10k set exists: train / test split point.
T10K_TRAIN = 8000


def _find(folder: Path, stem: str) -> Path | None:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).is_file():
            return folder / name
    return None


def _pair(folder: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    img = _find(folder, f"{prefix}-images-idx3-ubyte")
    lab = _find(folder, f"{prefix}-labels-idx1-ubyte")
    if img is None and lab is None:
        return None
    if img is None or lab is None:
        missing = (
            f"{prefix}-images-idx3-ubyte[.gz]"
            if img is None
            else f"{prefix}-labels-idx1-ubyte[.gz]"
        )
        raise IDXError(f"{folder}: missing IDX file {missing}")
    images = read_idx(img)
    labels = read_idx(lab)
    if images.ndim != 3:
        raise IDXError(f"{img}: expected images of shape [N, H, W], got {images.shape}")
    if labels.ndim != 1:
        raise IDXError(f"{lab}: expected labels of shape [N], got {labels.shape}")
    if len(images) != len(labels):
        raise IDXError(
            f"{folder}: image/label count mismatch: {img.name} holds {len(images)} images, "
            f"{lab.name} holds {len(labels)} labels"
        )
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def load_idx_folder(folder: str | Path, name: str | None = None) -> ClassificationData:
    """Load MNIST-format IDX files from ``folder``.

    With train-* and t10k-* files, returns them as train and test. With only t10k-*, trains on
    the first 8,000 and tests on the remaining images (the project's convention). Images are
    float32 ``[N, 1, H, W]`` in [0, 1]; labels int64 ``[N]``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IDXError(f"IDX folder not found: {folder}")
    train = _pair(folder, "train")
    test = _pair(folder, "t10k")
    if test is None and train is None:
        raise IDXError(
            f"{folder}: no MNIST-format files (expected t10k-images-idx3-ubyte[.gz] and "
            "t10k-labels-idx1-ubyte[.gz], and/or the train-* pair)"
        )
    if test is None:
        raise IDXError(f"{folder}: found train-* files but no t10k-* test files")
    if train is None:
        x, y = test
        if len(x) <= T10K_TRAIN:
            raise IDXError(f"{folder}: t10k set holds {len(x)} images, need more than {T10K_TRAIN}")
        train = (x[:T10K_TRAIN], y[:T10K_TRAIN])
        test = (x[T10K_TRAIN:], y[T10K_TRAIN:])
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    return ClassificationData(
        name=name or f"idx:{folder}",
        train_x=train[0],
        train_y=train[1],
        test_x=test[0],
        test_y=test[1],
        num_classes=num_classes,
    )
