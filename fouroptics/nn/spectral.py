"""Spectral (Fourier-domain) convolution layers and spectral pooling, in torch.

Convention: spectra are ``torch.fft.fft2(x, norm="forward")`` (the DC bin is the mean of
the image) in the unshifted FFT layout. A spectral layer multiplies the spectrum of each input
channel by a complex weight and sums over input channels; in space this is the circular
convolution ``y_o = sum_i x_i (*) k_oi`` with ``W_oi = fft2(k_oi, norm="backward")``.
Spectral pooling keeps the centred ``m x m`` block of frequencies: a low-pass filter followed
by resampling onto an ``m x m`` grid (same field of view, coarser pitch).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def to_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Spectrum of real or complex images ``[..., H, W]`` (``norm="forward"``)."""
    return torch.fft.fft2(x, norm="forward")


def to_field(spectrum: torch.Tensor) -> torch.Tensor:
    """Complex field ``[..., H, W]`` from a spectrum (inverse of :func:`to_spectrum`)."""
    return torch.fft.ifft2(spectrum, norm="forward")


def crop_indices(n: int, m: int) -> torch.Tensor:
    """Unshifted indices of the ``m`` centred frequencies of an ``n``-point DFT, in unshifted
    ``m``-point order: entry ``j`` is ``((j + m//2) % m - m//2) % n``."""
    j = torch.arange(m)
    return ((j + m // 2) % m - m // 2) % n


def spectral_crop(spectrum: torch.Tensor, size: int) -> torch.Tensor:
    """Spectral pooling: keep the centred ``size x size`` frequencies of an unshifted spectrum
    ``[..., H, W]`` (H, W >= size) and return them in unshifted ``[..., size, size]`` layout
    (the same as ``ifftshift(centre_crop(fftshift(spectrum)))``)."""
    h, w = spectrum.shape[-2:]
    if size > h or size > w:
        raise ValueError(f"cannot crop a {h}x{w} spectrum to {size}x{size}")
    if size == h and size == w:
        return spectrum
    rows = crop_indices(h, size).to(spectrum.device)
    cols = crop_indices(w, size).to(spectrum.device)
    return spectrum.index_select(-2, rows).index_select(-1, cols)


class SpectralPool2d(nn.Module):
    """Spectral pooling (centre crop in the Fourier domain) of spectra ``[B, C, H, W]``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        return spectral_crop(spectrum, self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class SpectralConv2d(nn.Module):
    """Linear spectral convolution: ``Y[b, o] = sum_i W[o, i] * X[b, i]`` per frequency.

    Args:
        in_channels, out_channels: channel counts.
        size: side ``N`` of the (square) spectra this layer acts on, in frequency bins.

        dc: False: the kernels pass no DC (their ``[0, 0]`` bin is held at 0), so a uniform
            field added to the input (an input SLM's contrast floor) does not reach the output.

    Weights are complex ``[out, in, N, N]`` (stored as real and imaginary parts), one Fourier
    kernel per (input, output) channel pair; a 4f system displays each as a Fourier-plane mask.
    Input and output are spectra ``[B, C, N, N]`` (complex).
    """

    def __init__(self, in_channels: int, out_channels: int, size: int, dc: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.size = in_channels, out_channels, size
        self.dc = bool(dc)
        shape = (out_channels, in_channels, size, size)
        self.weight_real = nn.Parameter(torch.empty(shape))
        self.weight_imag = nn.Parameter(torch.empty(shape))
        self.reset_parameters(None)

    def reset_parameters(self, generator: torch.Generator | None, kernel: int = 5) -> None:
        """Initialize as the spectrum of a local ``kernel x kernel`` spatial kernel (Gaussian,
        variance ``1 / (in_channels * kernel**2)``, centred on the origin), so the layer starts
        as an ordinary small convolution; training may then spread it over the whole plane."""
        k = min(kernel, self.size)
        std = math.sqrt(1.0 / (self.in_channels * k * k))
        spatial = torch.zeros(self.out_channels, self.in_channels, self.size, self.size)
        spatial[..., :k, :k] = std * torch.randn(
            self.out_channels, self.in_channels, k, k, generator=generator
        )
        spatial = torch.roll(spatial, (-(k // 2), -(k // 2)), dims=(-2, -1))
        w = torch.fft.fft2(spatial)  # backward norm: the layer then convolves by `spatial`
        with torch.no_grad():
            self.weight_real.copy_(w.real)
            self.weight_imag.copy_(w.imag)

    @property
    def weight(self) -> torch.Tensor:
        """Complex Fourier kernels ``[out, in, N, N]`` (DC bin 0 when ``dc`` is False)."""
        w = torch.complex(self.weight_real, self.weight_imag)
        if not self.dc:
            keep = torch.ones(w.shape[-2:], dtype=self.weight_real.dtype, device=w.device)
            keep[0, 0] = 0.0
            w = w * keep
        return w

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        if spectrum.shape[-3:] != (self.in_channels, self.size, self.size):
            raise ValueError(
                f"expected spectra [B, {self.in_channels}, {self.size}, {self.size}], "
                f"got {tuple(spectrum.shape)}"
            )
        return torch.einsum("oihw,bihw->bohw", self.weight, spectrum)

    def extra_repr(self) -> str:
        dc = "" if self.dc else ", dc=False"
        return f"{self.in_channels}, {self.out_channels}, size={self.size}{dc}"
