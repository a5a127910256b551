"""The geometry converters against independent definitions: the SCLC's DFT layout
(fouroptics.nn.spectral), scipy's 'same' convolution, a direct DFT of the
block-upsampled image, the B-spline partition of unity, and trigonometric readout."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import fftconvolve

from fouroptics.compiler import geometry as geo
from fouroptics.nn.spectral import crop_indices


def test_signed_frequencies_match_the_sclc_crop_layout() -> None:
    for n in (4, 7, 14, 28):
        assert list(geo.signed_frequencies(n)) == list(np.fft.fftfreq(n, 1 / n).astype(int))
        # the SCLC's pooled band, as indices of the big grid, carries these frequencies
        idx = crop_indices(28, n).numpy() if n <= 28 else None
        signed_big = geo.signed_frequencies(28)[idx]
        assert list(signed_big) == list(geo.signed_frequencies(n))


def test_spatial_to_dft_is_scipy_same_convolution() -> None:
    rng = np.random.default_rng(0)
    for kh in (3, 4, 7):
        x = rng.random((10, 10))
        k = rng.standard_normal((kh, kh))
        n = 10 + kh - 1
        spec = geo.spatial_to_dft(k, n)
        xp = np.zeros((n, n))
        xp[:10, :10] = x
        circ = np.fft.ifft2(spec * np.fft.fft2(xp)).real[:10, :10]
        np.testing.assert_allclose(circ, fftconvolve(x, k, mode="same"), atol=1e-12)


def test_block_envelope_is_the_dft_of_a_block_upsampled_image() -> None:
    rng = np.random.default_rng(1)
    n, s = 8, 3
    x = rng.random(n)
    up = np.repeat(x, s)  # each image pixel shown as s SLM pixels
    k = geo.signed_frequencies(n)
    big = np.fft.fft(up) / (n * s)
    # at the image's frequencies the block's spectrum is X_k D_s(k) with a half-block phase
    phase = np.exp(-1j * np.pi * k * (s - 1) / (s * n))
    want = np.fft.fft(x) / n * geo.block_envelope(k, n, s) * phase
    np.testing.assert_allclose(big[k % (n * s)], want, atol=1e-12)


def test_bspline_sinc_power_is_a_partition_of_unity() -> None:
    """sinc^q vanishes at every non-zero integer: the synthesised mask equals the kernel on
    the image's lines exactly."""
    nu = np.arange(-5, 6) / 10.0  # lines at k / P with P = 10 m
    s = geo.synthesis_matrix(nu, 10.0, np.array([-2, 0, 3]), 3, np.ones(3), 1000)
    expected = np.zeros((11, 3))
    expected[3, 0] = expected[5, 1] = expected[8, 2] = 1.0
    np.testing.assert_allclose(s, expected, atol=1e-12)


def test_readout_matrix_interpolates_trig_polynomials() -> None:
    rng = np.random.default_rng(2)
    n = 12
    band = np.sort(geo.signed_frequencies(6))
    harm = geo.harmonic_set(band, "intensity")
    coef = rng.standard_normal(len(band)) + 1j * rng.standard_normal(len(band))

    def field(t):
        return np.exp(2j * np.pi * np.outer(t, band) / n) @ coef

    t_samples = np.linspace(0, n, 40, endpoint=False) + 0.37
    t_out = np.arange(6) * 2.0
    r = geo.readout_matrix(t_samples, t_out, n, harm)
    np.testing.assert_allclose(
        r @ np.abs(field(t_samples)) ** 2, np.abs(field(t_out)) ** 2, atol=1e-9
    )


def test_readout_refuses_too_few_samples() -> None:
    import pytest

    harm = geo.harmonic_set(np.arange(-5, 5), "intensity")
    with pytest.raises(ValueError, match="cannot resolve"):
        geo.readout_matrix(np.linspace(0, 12, 10, endpoint=False) + 0.3, np.array([0.5]), 12, harm)


def test_model_kernel_torch_and_numpy_agree() -> None:
    """The SCLC's collapsed output equals the compiler's formula g(t) at t = m N / n."""
    from fouroptics.nn.sclc import apply_collapsed

    rng = np.random.default_rng(3)
    big, small = 12, 6
    kern = rng.standard_normal((1, 1, small, small)) + 1j * rng.standard_normal(
        (1, 1, small, small)
    )
    x = rng.random((1, 1, big, big))
    ref = apply_collapsed(torch.as_tensor(kern), torch.as_tensor(x)).numpy()[0, 0]
    band = geo.signed_frequencies(small)
    xk = np.fft.fft2(x[0, 0]) / big**2
    idx = band % big
    spec = kern[0, 0] * xk[idx[:, None], idx[None, :]]
    t = np.arange(small) * big / small
    e = np.exp(2j * np.pi * np.outer(t, band) / big)
    np.testing.assert_allclose(e @ spec @ e.T, ref, atol=1e-12)
