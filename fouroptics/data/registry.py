"""Dataset names -> loaders: ``mnist``, ``idx:<folder>``, ``glyphs``; segmentation canvases."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from fouroptics.data.folder import T10K_TRAIN, load_idx_folder
from fouroptics.data.glyphs import render_glyphs
from fouroptics.data.segmentation import make_canvases
from fouroptics.data.types import ClassificationData, SegmentationData
from fouroptics.errors import ConfigError, DataError

DATASET_NAMES = ("mnist", "idx:<folder>", "glyphs")
DATA_ENV = "FOUROPTICS_DATA"


class UnknownDatasetError(ConfigError):
    """A dataset name that the registry does not know."""


def data_root() -> Path | None:
    """The folder named by ``$FOUROPTICS_DATA``, or None when unset."""
    root = os.environ.get(DATA_ENV)
    return Path(root) if root else None


def load_classification(
    name: str,
    seed: int = 0,
    resolution: int | None = None,
    n_train: int = T10K_TRAIN,
    n_test: int = 2000,
) -> ClassificationData:
    """Load a classification dataset by name.

    Args:
        name: ``mnist`` ($FOUROPTICS_DATA/mnist), ``idx:<folder>`` (any MNIST-format folder) or
            ``glyphs`` (synthetic printed digits, needs no files).
        seed: seed of the synthetic data (glyphs only; file datasets are deterministic).
        resolution: resample images to ``resolution x resolution`` (bilinear); None keeps them.
        n_train, n_test: sizes of the synthetic glyph splits (ignored for file datasets).
    """
    if name == "glyphs":
        trx, try_, tex, tey = (t.clone() for t in _glyph_splits(int(seed), n_train, n_test))
        data = ClassificationData("glyphs", trx, try_, tex, tey, 10)
    elif name == "mnist":
        root = data_root()
        if root is None:
            raise DataError(
                f"dataset 'mnist' needs ${DATA_ENV} pointing at a folder holding mnist/ "
                "(MNIST-format IDX files); use --dataset glyphs to run without files"
            )
        data = load_idx_folder(root / "mnist", name="mnist")
    elif name.startswith("idx:"):
        folder = name[4:]
        if not folder:
            raise UnknownDatasetError("dataset 'idx:' needs a folder, e.g. idx:/data/mnist")
        path = Path(folder).expanduser().resolve()
        data = load_idx_folder(path, name=f"idx:{path}")
    else:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}")
    if resolution is not None and resolution != data.train_x.shape[-1]:
        data.train_x = resize(data.train_x, resolution)
        data.test_x = resize(data.test_x, resolution)
    return data


@functools.lru_cache(maxsize=2)
def _glyph_splits(seed: int, n_train: int, n_test: int) -> tuple[torch.Tensor, ...]:
    """The glyph splits of one seed, rendered once per process (the demo's verbs run in one
    process and load them a few times each); callers get copies."""
    g = torch.Generator().manual_seed(seed)
    trx, try_ = render_glyphs(n_train, g)
    tex, tey = render_glyphs(n_test, g)
    return trx, try_, tex, tey


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resampling of ``[N, C, H, W]`` images to ``size x size`` (antialiased)."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def load_segmentation(
    name: str,
    seed: int = 0,
    size: int = 64,
    n_train: int = 4000,
    n_test: int = 1000,
    max_objects: int = 3,
) -> SegmentationData:
    """Segmentation canvases composed from a classification dataset (train canvases from its
    train images, test canvases from its test images). Labels: 0 background, digit + 1."""
    # synthetic sources are rendered only as large as the canvases need (file sets are fixed)
    src = load_classification(
        name, seed=seed, n_train=min(T10K_TRAIN, 3 * n_train), n_test=min(2000, 3 * n_test)
    )
    g = torch.Generator().manual_seed(int(seed) + 1)
    trx, try_ = make_canvases(src.train_x, src.train_y, n_train, g, size, max_objects)
    tex, tey = make_canvases(src.test_x, src.test_y, n_test, g, size, max_objects)
    return SegmentationData(f"{src.name}-canvas{size}", trx, try_, tex, tey, src.num_classes + 1)
