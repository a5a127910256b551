"""Spectral convolution, spectral pooling and collapse(), against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import fftconvolve

from fouroptics.nn.sclc import SpectralStack, apply_collapsed
from fouroptics.nn.spectral import SpectralConv2d, spectral_crop, to_field, to_spectrum


@pytest.mark.parametrize(("n", "m"), [(28, 14), (28, 7), (9, 4), (8, 5), (16, 16)])
def test_spectral_crop_is_the_centred_block_of_the_shifted_spectrum(n: int, m: int) -> None:
    x = torch.randn(2, 3, n, n, dtype=torch.complex64)
    s = np.fft.fftshift(x.numpy(), axes=(-2, -1))
    r = n // 2 - m // 2
    ref = np.fft.ifftshift(s[..., r : r + m, r : r + m], axes=(-2, -1))
    np.testing.assert_array_equal(spectral_crop(x, m).numpy(), ref)


def _layer_from_kernels(kernels: np.ndarray, n: int) -> SpectralConv2d:
    """Spectral layer whose Fourier weights are the DFTs of spatial kernels [o, i, k, k]
    placed at the origin of an n x n plane."""
    o, i, k, _ = kernels.shape
    layer = SpectralConv2d(i, o, n).double()
    plane = np.zeros((o, i, n, n))
    plane[..., :k, :k] = kernels
    w = torch.from_numpy(np.fft.fft2(plane))
    with torch.no_grad():
        layer.weight_real.copy_(w.real)
        layer.weight_imag.copy_(w.imag)
    return layer


def test_spectral_layer_equals_scipy_fftconvolve_on_padded_input() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2, 3, 12, 12))  # [B, C_in, H, W]
    ker = rng.standard_normal((4, 3, 5, 5))  # [C_out, C_in, k, k]
    n = 16  # 12 + 5 - 1: circular convolution == linear convolution
    layer = _layer_from_kernels(ker, n)
    x = torch.zeros(2, 3, n, n, dtype=torch.float64)
    x[..., :12, :12] = torch.from_numpy(img)
    y = to_field(layer(to_spectrum(x).to(torch.complex128))).detach().numpy()
    ref = np.zeros((2, 4, n, n))
    for b in range(2):
        for o in range(4):
            ref[b, o] = sum(fftconvolve(img[b, i], ker[o, i], mode="full") for i in range(3))
    np.testing.assert_allclose(y.real, ref, atol=1e-10)
    np.testing.assert_allclose(y.imag, 0.0, atol=1e-10)


def test_spectral_layer_equals_circular_torch_conv2d() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 2, 10, 10, generator=g, dtype=torch.float64)
    ker = torch.randn(5, 2, 3, 3, generator=g, dtype=torch.float64)
    # centred 3x3 kernel: spatial offsets -1..1 -> roll so offset 0 sits at the origin
    plane = torch.zeros(5, 2, 10, 10, dtype=torch.float64)
    plane[..., :3, :3] = ker
    plane = torch.roll(plane, (-1, -1), dims=(-2, -1))
    layer = SpectralConv2d(2, 5, 10).double()
    with torch.no_grad():
        w = torch.fft.fft2(plane)
        layer.weight_real.copy_(w.real)
        layer.weight_imag.copy_(w.imag)
    y = to_field(layer(to_spectrum(x).to(torch.complex128))).real
    # conv2d is a correlation: flip the kernel to convolve; circular padding of 1
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), ker.flip(-1, -2))
    torch.testing.assert_close(y, ref, atol=1e-10, rtol=0)


def test_default_init_is_a_local_kernel() -> None:
    layer = SpectralConv2d(2, 3, 16)
    spatial = torch.fft.ifft2(layer.weight.detach())
    far = spatial[..., 3:-2, :].abs().max()
    assert float(far) < 1e-5 and float(spatial.abs().max()) > 0.01


def test_collapsed_kernel_reproduces_the_stack() -> None:
    stack = SpectralStack([2, 3, 4, 5], [16, 12, 12, 6], seed=0).double()
    x = torch.rand(4, 2, 16, 16, dtype=torch.float64)
    y_layers = stack.forward_layers(x)
    k = stack.collapse()
    assert k.shape == (5, 2, 6, 6)
    torch.testing.assert_close(apply_collapsed(k, x), y_layers, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(stack(x), y_layers, atol=1e-12, rtol=1e-10)


def test_collapse_of_two_layers_is_one_convolution_with_the_composed_kernel() -> None:
    """Independent check: two conv layers (no pooling) == conv with the kernels convolved."""
    rng = np.random.default_rng(2)
    k1 = rng.standard_normal((1, 1, 3, 3))
    k2 = rng.standard_normal((1, 1, 4, 4))
    n = 20
    stack = SpectralStack([1, 1, 1], [n, n, n]).double()
    stack.layers[0].load_state_dict(_layer_from_kernels(k1, n).state_dict())
    stack.layers[1].load_state_dict(_layer_from_kernels(k2, n).state_dict())
    img = rng.random((8, 8))
    x = torch.zeros(1, 1, n, n, dtype=torch.float64)
    x[..., :8, :8] = torch.from_numpy(img)
    ref = fftconvolve(img, fftconvolve(k1[0, 0], k2[0, 0]), mode="full")  # 13 x 13
    y = apply_collapsed(stack.collapse(), x)[0, 0].real.detach().numpy()
    np.testing.assert_allclose(y[:13, :13], ref, atol=1e-10)


def test_wrong_input_shape_is_named() -> None:
    with pytest.raises(ValueError, match=r"expected spectra \[B, 2, 8, 8\]"):
        SpectralConv2d(2, 3, 8)(torch.zeros(1, 3, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="cannot enlarge"):
        SpectralStack([1, 2], [8, 16])


def test_dc_free_stack_ignores_a_uniform_input_offset() -> None:
    """A DC-free stack's collapsed kernels have no DC bin, so a constant added to every input
    pixel (an input SLM's contrast floor) leaves the output field unchanged; scipy's circular
    convolution with the collapsed kernels' spatial form sums to 0."""
    torch.manual_seed(0)
    stack = SpectralStack([1, 3, 2], [16, 16, 8], seed=1, dc_free=True).double()
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(stack(x + 0.3).numpy(), stack(x).numpy(), atol=1e-12)
        k = stack.collapse().numpy()
    assert np.abs(k[..., 0, 0]).max() == 0.0
    spatial = np.fft.ifft2(k)
    np.testing.assert_allclose(spatial.sum(axis=(-2, -1)), 0.0, atol=1e-12)
    dense = SpectralStack([1, 3, 2], [16, 16, 8], seed=1).double()
    with torch.no_grad():
        assert np.abs(dense(x + 0.3).numpy() - dense(x).numpy()).max() > 1e-3
