"""Segmentation canvases composed from a classification dataset, with per-pixel labels."""

from __future__ import annotations

import torch

from fouroptics.errors import ConfigError, DataError


def make_canvases(
    images: torch.Tensor,
    labels: torch.Tensor,
    n: int,
    seed: int | torch.Generator,
    size: int = 64,
    max_objects: int = 3,
    threshold: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste 1..``max_objects`` random source images at random positions on dark canvases.

    Args:
        images: float32 ``[N, 1, h, w]`` in [0, 1], bright object on dark ground.
        labels: int64 ``[N]`` class of each source image.
        n: number of canvases.
        seed: int seed or ``torch.Generator``.
        size: canvas side in pixels (must be >= h and w).
        max_objects: most objects per canvas (each canvas holds 1..max_objects).
        threshold: source intensity above which a pixel is labelled as its object.

    Returns:
        canvases float32 ``[n, 1, size, size]`` (pixelwise max of the pasted images) and
        targets int64 ``[n, size, size]``: 0 background, ``label + 1`` on object pixels (a later
        object wins where two overlap).
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise DataError(f"images must be [N, 1, h, w], got {tuple(images.shape)}")
    if len(images) != len(labels):
        raise DataError(f"image/label count mismatch: {len(images)} vs {len(labels)}")
    _, _, h, w = images.shape
    if h > size or w > size:
        raise DataError(f"source images {h}x{w} do not fit on a {size}x{size} segmentation canvas")
    if max_objects < 1:
        raise ConfigError(f"max_objects must be >= 1, got {max_objects}")
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    count = torch.randint(1, max_objects + 1, (n,), generator=g)
    canvas = torch.zeros(n, size * size)
    target = torch.zeros(n, size * size, dtype=torch.int64)
    rr, cc = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    for k in range(max_objects):  # a handful of slots, each fully vectorized over canvases
        idx = torch.randint(0, len(images), (n,), generator=g)
        oy = torch.randint(0, size - h + 1, (n,), generator=g)
        ox = torch.randint(0, size - w + 1, (n,), generator=g)
        active = (k < count).float().view(n, 1)
        src = images[idx, 0].reshape(n, -1) * active  # [n, h*w]
        flat = ((oy.view(n, 1, 1) + rr) * size + (ox.view(n, 1, 1) + cc)).reshape(n, -1)
        canvas.scatter_reduce_(1, flat, src, reduce="amax")
        cls = (labels[idx] + 1).view(n, 1).expand(-1, h * w)
        old = target.gather(1, flat)
        target.scatter_(1, flat, torch.where(src > threshold, cls, old))
    return canvas.view(n, 1, size, size), target.view(n, size, size)
