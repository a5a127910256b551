"""Many masks on one image: ``forward(field, masks=...)`` gives (B, C, H_cam, W_cam) on every
backend, equal to one ``forward`` per mask; positional masks keep numpy broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fouroptics.optics import FourFSystem, PixelGrid


def _random(shape, seed, complex_=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


@pytest.mark.parametrize("backend", ["pyfftw", "numpy", "scipy", "torch"])
def test_many_masks_match_one_forward_per_mask_matched(backend: str) -> None:
    system = FourFSystem.matched((32, 32), "8 um", dtype="complex128", fft_backend=backend)
    x = _random((3, 32, 32), 0, complex_=False)
    masks = _random((4, 32, 32), 1)
    out = system.forward(x, masks=masks)
    assert out.shape == (3, 4, 32, 32)
    for c in range(4):
        np.testing.assert_allclose(out[:, c], system.forward(x, masks[c]), atol=1e-10)


def _mismatched(quadrature: int, fft_backend: str = "pyfftw") -> FourFSystem:
    """Grids that are no DFT pairs (matrix transforms), a Fourier SLM with gap light."""
    return FourFSystem(
        532e-9,
        0.1,
        0.15,
        PixelGrid((24, 24), 8e-6),
        PixelGrid((30, 30), 9.5e-6 * 24 / 30 * 20, fill_factor=0.9, gap_transmission=1),
        PixelGrid((28, 28), 9e-6),
        pixel_quadrature=quadrature,
        dtype="complex128",
        fft_backend=fft_backend,
    )


@pytest.mark.parametrize("quadrature", [1, 2])
def test_many_masks_on_mismatched_grids_with_gap_light(quadrature: int) -> None:
    system = _mismatched(quadrature)
    x = _random((2, 24, 24), 2)
    masks = _random((3, 30, 30), 3)
    out = system.forward(x, masks=masks)
    assert out.shape == (2, 3, 28, 28)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], system.forward(x, masks[c]), atol=1e-10)
    got = system.forward(torch.from_numpy(x), masks=torch.from_numpy(masks)).numpy()
    np.testing.assert_allclose(got, out, atol=1e-10)


def test_matching_leading_dims_pair_image_and_mask_on_pyfftw() -> None:
    """The issue's repro: matched system, x (3, N, N), masks (3, N, N) (pairs, not a product)."""
    system = FourFSystem.matched((64, 64), "8 um", dtype="complex128")
    x = _random((3, 64, 64), 4, complex_=False)
    masks = _random((3, 64, 64), 5)
    out = system.forward(x, masks)
    assert out.shape == (3, 64, 64)
    for b in range(3):
        np.testing.assert_allclose(out[b], system.forward(x[b], masks[b]), atol=1e-10)


def test_first_lens_transform_runs_once_per_image(monkeypatch) -> None:
    from fouroptics.optics import fft as fft_module

    system = FourFSystem.matched((16, 16), "8 um", fft_backend="numpy")
    calls = []
    real = fft_module.fft2

    def counting(x, backend="pyfftw", inverse=False):
        calls.append(x.shape)
        return real(x, backend, inverse)

    monkeypatch.setattr(fft_module, "fft2", counting)
    system.forward(np.ones((2, 16, 16)), masks=np.ones((5, 16, 16)))
    assert calls == [(2, 16, 16), (2, 5, 16, 16)]


def test_mask_and_masks_together_is_an_error() -> None:
    from fouroptics.optics import FieldError

    system = FourFSystem.matched((16, 16), "8 um")
    with pytest.raises(FieldError, match="either mask or masks"):
        system.forward(np.ones((16, 16)), np.ones((16, 16)), masks=np.ones((2, 16, 16)))
    with pytest.raises(FieldError, match="expected \\(C, 16, 16\\)"):
        system.forward(np.ones((16, 16)), masks=np.ones((16, 16)))


@pytest.mark.parametrize("quadrature", [1, 2])
@pytest.mark.parametrize("backend", ["pyfftw", "numpy", "torch"])
def test_a_camera_window_is_the_full_field_at_its_rows_and_columns(quadrature, backend) -> None:
    """``forward(..., window=(rows, cols))`` evaluates only those camera pixels (matrix rows
    of the second transform, or a cut of the FFT's frame): the same numbers as the full field
    there, for matched (FFT) and mismatched (MFT) grids, one mask or many."""
    rows, cols = np.array([3, 4, 5, 17, 27]), np.array([0, 9, 10, 11, 20])
    matched = FourFSystem.matched((28, 28), "8 um", dtype="complex128", fft_backend=backend)
    mismatched = _mismatched(quadrature, "numpy" if backend == "torch" else backend)
    for system in (matched, mismatched):
        x = _random((2, *system.input_shape), 6)
        masks = _random((3, *system.fourier_shape), 7)
        if backend == "torch":
            x, masks = torch.from_numpy(x), torch.from_numpy(masks)
        for kw in ({"masks": masks}, {"mask": masks[0]}):
            full = system.forward(x, **kw)
            cut = system.forward(x, **kw, window=(rows, cols))
            full, cut = (np.asarray(a) for a in (full, cut))
            assert cut.shape == (*full.shape[:-2], 5, 5)
            np.testing.assert_allclose(cut, full[..., rows[:, None], cols], atol=1e-10)


def test_a_window_outside_the_camera_is_refused() -> None:
    from fouroptics.optics.validate import FieldError

    system = FourFSystem.matched((16, 16), "8 um")
    x = np.ones((16, 16))
    with pytest.raises(FieldError, match="window cols"):
        system.forward(x, window=(np.arange(3), np.array([2, 16])))
    with pytest.raises(FieldError, match="window rows"):
        system.forward(x, window=(np.zeros((2, 2), int), np.arange(2)))
