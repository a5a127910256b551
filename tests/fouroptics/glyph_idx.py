"""A small MNIST-format (IDX) folder of rendered glyph digits, for tests that run the CLI on
``--dataset idx:<folder>`` without the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fouroptics.data.glyphs import render_glyphs
from fouroptics.data.idx import write_idx


def write_glyph_idx(folder: Path, train: int, test: int) -> Path:
    """``folder`` with train-/t10k- images and labels (28 x 28 uint8, seeds 1 and 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", train, 1), ("t10k", test, 2)):
        x, y = render_glyphs(n, seed=seed, size=28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", (x[:, 0].numpy() * 255).astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y.numpy().astype(np.uint8))
    return folder
