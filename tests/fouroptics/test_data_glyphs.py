"""Synthetic printed digits: reproducible, labelled correctly, holes where digits have them."""

from __future__ import annotations

import torch

from fouroptics.data import render_glyphs
from fouroptics.data.glyphs import glyph_templates


def test_same_seed_same_images_other_seed_differs() -> None:
    a, la = render_glyphs(64, seed=3)
    b, lb = render_glyphs(64, seed=3)
    c, _ = render_glyphs(64, seed=4)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)
    assert a.shape == (64, 1, 28, 28) and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_requested_labels_are_drawn() -> None:
    labels = torch.arange(10).repeat(3)
    _, got = render_glyphs(30, seed=0, labels=labels)
    assert torch.equal(got, labels)


def test_zero_template_has_a_hole_and_one_does_not_fill_the_sides() -> None:
    tpl = glyph_templates()  # [fonts, 10, 64, 64]
    zero, one = tpl[:, 0], tpl[:, 1]
    centre = zero[:, 28:36, 28:36].mean()
    ring = zero.amax(dim=(1, 2))
    assert float(centre) < 0.2 and bool((ring > 0.9).all())  # even-odd fill leaves the hole
    assert float(one[:, :, :12].mean()) < 0.05  # no ink at the far left of a "1"


def test_labels_match_the_shapes_nearest_centroid() -> None:
    """A nearest-centroid classifier fit on one sample set recognizes another: the label is
    the digit drawn (random labels would give ~10%)."""
    x, y = render_glyphs(2000, seed=1, noise=0.0)
    xt, yt = render_glyphs(500, seed=2, noise=0.0)
    cent = torch.stack([x[y == k].mean(0).flatten() for k in range(10)])
    pred = torch.cdist(xt.flatten(1), cent).argmin(1)
    assert float((pred == yt).float().mean()) > 0.6
