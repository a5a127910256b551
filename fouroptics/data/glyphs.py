"""Synthetic printed digits rendered with the fonts bundled in matplotlib (no download).

Each (font, digit) template is rasterized once from its TrueType outline (even-odd fill,
4x supersampled); samples are then drawn in one batch: random font, stroke width
(erosion/dilation of the template), size, rotation and shift (one ``grid_sample``), and
additive Gaussian noise.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F

#: matplotlib-bundled fonts with ordinary digit shapes.
GLYPH_FONTS: tuple[str, ...] = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)

TEMPLATE_SIZE = 64  # pixels of a template (the glyph's height fills ~70% of it)


def _rasterize(font_file: Path, char: str, size: int, supersample: int = 4) -> np.ndarray:
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextPath

    tp = TextPath((0.0, 0.0), char, size=1.0, prop=FontProperties(fname=str(font_file)))
    polys = [p for p in tp.to_polygons() if len(p) >= 3]
    allv = np.concatenate(polys)
    lo, hi = allv.min(0), allv.max(0)
    centre = (lo + hi) / 2
    scale = 0.7 * size / (hi[1] - lo[1])  # glyph height -> 70% of the template
    n = size * supersample
    coords = (np.arange(n) + 0.5) / supersample - size / 2  # pixel centres, template units
    gx, gy = np.meshgrid(coords, -coords)  # row 0 at the top
    pts = np.stack([gx.ravel(), gy.ravel()], 1) / scale + centre
    inside = np.zeros(len(pts), dtype=bool)
    for poly in polys:  # even-odd rule across contours (holes of 0, 6, 8, 9)
        inside ^= MplPath(poly).contains_points(pts)
    img = inside.reshape(n, n).astype(np.float32)
    return img.reshape(size, supersample, size, supersample).mean((1, 3))


@functools.lru_cache(maxsize=4)
def glyph_templates(size: int = TEMPLATE_SIZE) -> torch.Tensor:
    """Rasterized digit templates, float32 ``[n_fonts, 10, size, size]`` in [0, 1]."""
    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [font_dir / f for f in GLYPH_FONTS if (font_dir / f).is_file()]
    if not fonts:
        raise FileNotFoundError(f"no bundled matplotlib fonts found in {font_dir}")
    arr = np.stack([np.stack([_rasterize(f, str(d), size) for d in range(10)]) for f in fonts])
    return torch.from_numpy(arr)


def render_glyphs(
    n: int,
    seed: int | torch.Generator,
    size: int = 28,
    labels: torch.Tensor | None = None,
    noise: float = 0.08,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render ``n`` random printed digits.

    Args:
        n: number of images.
        seed: int seed or ``torch.Generator`` (all randomness comes from it).
        size: output side in pixels (square images).
        labels: optional int64 ``[n]`` digits to draw; random (uniform) when None.
        noise: maximum standard deviation of the additive Gaussian noise (image units).

    Returns:
        images float32 ``[n, 1, size, size]`` in [0, 1] (bright digit on dark ground, like
        MNIST) and labels int64 ``[n]``.
    """
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    tpl = glyph_templates()  # [F, 10, S, S]
    n_fonts, _, s, _ = tpl.shape
    flat = tpl.reshape(n_fonts * 10, 1, s, s)
    strokes = torch.stack(
        [
            -F.max_pool2d(-flat, 3, 1, 1),  # thinner
            flat,
            F.max_pool2d(flat, 3, 1, 1),  # bolder
            F.max_pool2d(flat, 5, 1, 2),  # much bolder
        ]
    )  # [4, F*10, 1, S, S]
    if labels is None:
        labels = torch.randint(0, 10, (n,), generator=g)
    labels = labels.to(torch.int64)
    font = torch.randint(0, n_fonts, (n,), generator=g)
    stroke = torch.randint(0, 4, (n,), generator=g)
    src = strokes[stroke, font * 10 + labels]  # [n, 1, S, S]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    scale = u(0.85, 1.25)  # >1 shrinks the glyph (grid spans more template)
    angle = u(-15.0, 15.0) * math.pi / 180
    shift = torch.stack([u(-0.12, 0.12), u(-0.12, 0.12)], 1)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, [n, 1, 2 * size, 2 * size], align_corners=False)
    img = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    img = F.avg_pool2d(img, 2)  # antialiased downsampling to size x size
    sigma = u(0.0, noise).view(n, 1, 1, 1)
    img = img + sigma * torch.randn(img.shape, generator=g)
    return img.clamp_(0.0, 1.0), labels
