"""Segmentation canvases: pixels and labels land where the sources were pasted."""

from __future__ import annotations

import pytest
import torch

from fouroptics.data import load_segmentation, make_canvases


def test_single_object_canvas_holds_the_source_and_its_mask() -> None:
    src = torch.zeros(3, 1, 8, 8)
    src[:, 0, 2:6, 3:5] = torch.tensor([0.3, 0.6, 0.9]).view(3, 1, 1)
    labels = torch.tensor([4, 7, 2])
    canv, tgt = make_canvases(src, labels, n=50, seed=0, size=20, max_objects=1)
    assert canv.shape == (50, 1, 20, 20) and tgt.shape == (50, 20, 20)
    for k in range(50):  # per canvas: total ink is one source's, mask = its bright pixels
        val = canv[k].max()
        idx = int(torch.nonzero(torch.isclose(torch.tensor([0.3, 0.6, 0.9]), val))[0])
        assert torch.isclose(canv[k].sum(), val * 8)
        expect = labels[idx] + 1 if val > 0.5 else 0
        assert set(tgt[k].unique().tolist()) == ({0, int(expect)} if expect else {0})
        if expect:
            assert torch.equal(tgt[k] > 0, canv[k, 0] > 0.5)


def test_object_counts_and_reproducibility() -> None:
    src = torch.ones(10, 1, 4, 4)
    labels = torch.arange(10)
    a, ta = make_canvases(src, labels, n=200, seed=5, size=32, max_objects=3)
    b, tb = make_canvases(src, labels, n=200, seed=5, size=32, max_objects=3)
    assert torch.equal(a, b) and torch.equal(ta, tb)
    n_cls = torch.tensor([len(t.unique()) - 1 for t in ta])
    assert int(n_cls.min()) >= 1 and int(n_cls.max()) == 3
    assert torch.equal(ta > 0, a[:, 0] > 0.5)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="count mismatch"):
        make_canvases(torch.zeros(3, 1, 4, 4), torch.zeros(2, dtype=torch.int64), 1, 0)
    with pytest.raises(ValueError, match="do not fit"):
        make_canvases(torch.zeros(1, 1, 40, 40), torch.zeros(1, dtype=torch.int64), 1, 0, 32)


def test_glyph_canvases_have_eleven_classes() -> None:
    d = load_segmentation("glyphs", seed=0, size=64, n_train=40, n_test=10)
    assert d.num_classes == 11 and d.train_x.shape == (40, 1, 64, 64)
    assert int(d.train_y.max()) <= 10 and int(d.train_y.min()) == 0
