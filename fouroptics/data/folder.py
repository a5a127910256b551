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


def _images(arr: np.ndarray, path: Path) -> torch.Tensor:
    """IDX images -> float32 ``[N, 1, H, W]`` in [0, 1]: uint8 scaled by 1/255, floats kept
    (they must be finite and in [0, 1]); any other type is refused."""
    if arr.ndim != 3:
        raise IDXError(f"{path}: expected images of shape [N, H, W], got {arr.shape}")
    if min(arr.shape) == 0:
        raise IDXError(f"{path}: empty image set (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return torch.from_numpy(arr.astype(np.float32) / 255.0).unsqueeze(1)
    if arr.dtype.kind != "f":
        raise IDXError(
            f"{path}: images of type {arr.dtype} are not supported; allowed: unsigned bytes "
            "(IDX type 0x08, 0..255) or float32/float64 (0x0D/0x0E, values in [0, 1])"
        )
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise IDXError(f"{path}: {bad} pixels are NaN or infinite; pixels must be finite")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise IDXError(f"{path}: float pixels span {lo:g}..{hi:g}; they must lie in [0, 1]")
    return torch.from_numpy(arr.astype(np.float32)).unsqueeze(1)


def _labels(arr: np.ndarray, path: Path) -> torch.Tensor:
    """IDX labels -> int64 ``[N]``; only unsigned bytes (type 0x08) are class indices."""
    if arr.dtype != np.uint8:
        raise IDXError(
            f"{path}: labels of type {arr.dtype}; class labels must be unsigned bytes "
            "(IDX type 0x08, integers 0..255)"
        )
    if arr.ndim != 1:
        raise IDXError(f"{path}: expected labels of shape [N], got {arr.shape}")
    return torch.from_numpy(arr.astype(np.int64))


def _pair(folder: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor, Path, Path] | None:
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
    x = _images(read_idx(img), img)
    y = _labels(read_idx(lab), lab)
    if len(x) != len(y):
        raise IDXError(
            f"{folder}: image/label count mismatch: {img.name} holds {len(x)} images, "
            f"{lab.name} holds {len(y)} labels"
        )
    return x, y, img, lab


def _check_classes(
    train_y: torch.Tensor, test_y: torch.Tensor, train_src: str, test_src: str
) -> int:
    """The class count K, after checking that the training labels are exactly 0..K-1 (K >= 2)
    and that every test label occurs in training."""
    seen = set(torch.unique(train_y).tolist())
    extra = sorted(set(torch.unique(test_y).tolist()) - seen)
    if extra:
        raise IDXError(
            f"labels {extra} occur in the test split ({test_src}) but never in the training "
            f"split ({train_src}): a model cannot learn them"
        )
    k = int(train_y.max()) + 1
    if len(seen) != k:
        missing = sorted(set(range(k)) - seen)
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise IDXError(
            f"{train_src}: labels span 0..{k - 1} but only {len(seen)} distinct values occur "
            f"(missing: {shown}); labels must be the class indices 0..K-1"
        )
    if k < 2:
        raise IDXError(f"{train_src}: all labels are {k - 1}; classification needs >= 2 classes")
    return k


def load_idx_folder(folder: str | Path, name: str | None = None) -> ClassificationData:
    """Load MNIST-format IDX files from ``folder``.

    With train-* and t10k-* files, returns them as train and test. With only t10k-*, trains on
    the first 8,000 and tests on the remaining images (the project's convention). Images are
    float32 ``[N, 1, H, W]`` in [0, 1] (from unsigned bytes / 255, or floats already in
    [0, 1]); labels int64 ``[N]``.

    Raises:
        IDXError (a DataError), naming the file, before any training, for: missing or corrupt
        files (truncated, bad gzip, bad header), counts of images and labels that disagree,
        labels that are not unsigned bytes, training labels that are not exactly 0..K-1 (a
        class count that jumps), test labels absent from training, NaN/inf or out-of-range
        float pixels, image types other than uint8/float, and train/test images of
        different sizes.
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
        x, y, img, lab = test
        if len(x) <= T10K_TRAIN:
            raise IDXError(f"{folder}: t10k set holds {len(x)} images, need more than {T10K_TRAIN}")
        train = (x[:T10K_TRAIN], y[:T10K_TRAIN], img, lab)
        test = (x[T10K_TRAIN:], y[T10K_TRAIN:], img, lab)
        train_src, test_src = f"{lab} (first {T10K_TRAIN})", f"{lab} (after {T10K_TRAIN})"
    else:
        train_src, test_src = str(train[3]), str(test[3])
        if train[0].shape[1:] != test[0].shape[1:]:
            raise IDXError(
                f"{folder}: training images are {tuple(train[0].shape[2:])} ({train[2].name}) "
                f"but test images are {tuple(test[0].shape[2:])} ({test[2].name}); "
                "both splits need one image size"
            )
    num_classes = _check_classes(train[1], test[1], train_src, test_src)
    return ClassificationData(
        name=name or f"idx:{folder}",
        train_x=train[0],
        train_y=train[1],
        test_x=test[0],
        test_y=test[1],
        num_classes=num_classes,
    )
