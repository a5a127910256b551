"""Geometry of a compiled model, written down once: DFT layouts, the periodic input block, the
Fourier-plane synthesis of a kernel and the camera readout.

Model side (no units). An SCLC kernel ``K[k]`` lives on an ``n x n`` band of an ``N``-periodic
image in the unshifted DFT layout with ``norm="forward"`` spectra: the model's output field is
``g(t) = sum_{k in B} K_k X_k exp(2 pi i k t / N)`` with ``X = fft2(x, norm="forward")`` and
``t`` in image pixels; spectral pooling samples it at ``t = m N / n``.

Optics side (SI). The image (``N x N``, each pixel a block of ``s x s`` input-SLM pixels, period
``P = N s p_in``) is shown periodically tiled ``T x T`` times; the mask's effective multiplier is

    T(nu) = sigma sum_{k in B} K_k / D_s(k) * sinc^q(nu_y P - k_y) sinc^q(nu_x P - k_x)

(``D_s`` the block's real Dirichlet envelope). Its spatial kernel is the model's periodic kernel
times a B-spline of order ``q`` (support ``q P``), a partition of unity: over the central ``P``
of a block of ``T >= q + 1`` tiles the optics' linear convolution equals the model's circular
one at *every* continuous position, so a camera on any grid can read it (a trigonometric fit,
:func:`readout_matrix`). Replicas of the block-upsampled image and frequencies outside the band
sit on lines where ``T`` vanishes exactly.
"""

from __future__ import annotations

import numpy as np


def signed_frequencies(n: int) -> np.ndarray:
    """Signed frequency of each index of an unshifted ``n``-point DFT: ``((j + n//2) % n) - n//2``
    (int64, (n,)); e.g. n = 4 -> [0, 1, -2, -1]."""
    j = np.arange(n)
    return (j + n // 2) % n - n // 2


def spatial_to_dft(kernel: np.ndarray, period: int) -> np.ndarray:
    """Spatial kernels (..., kh, kw), origin at ``((kh-1)//2, (kw-1)//2)`` (scipy's 'same'),
    -> their ``period x period`` DFT (``norm="backward"``, unshifted): the Fourier kernel whose
    circular convolution on an ``N = period`` grid is ``y[j] = sum_d k[c + d] x[j - d]``."""
    kh, kw = kernel.shape[-2:]
    if kh > period or kw > period:
        raise ValueError(f"kernel {kh}x{kw} larger than the period {period}")
    padded = np.zeros((*kernel.shape[:-2], period, period), dtype=np.complex128)
    padded[..., :kh, :kw] = kernel
    padded = np.roll(padded, (-((kh - 1) // 2), -((kw - 1) // 2)), axis=(-2, -1))
    return np.fft.fft2(padded)


def block_envelope(k: np.ndarray, period: int, upsample: int) -> np.ndarray:
    """Real Dirichlet envelope ``sin(pi k / N) / (s sin(pi k / (s N)))`` of an image pixel shown
    as ``s`` SLM pixels, at signed frequencies ``k`` of an ``N``-periodic image (1 at k = 0)."""
    k = np.asarray(k, dtype=np.float64)
    if upsample == 1:
        return np.ones_like(k)
    num = np.sin(np.pi * k / period)
    den = upsample * np.sin(np.pi * k / (upsample * period))
    return np.where(k == 0, 1.0, num / np.where(k == 0, 1.0, den))


def synthesis_matrix(
    nu: np.ndarray,
    period_m: float,
    freqs: np.ndarray,
    order: int,
    envelope: np.ndarray,
    samples_per_period: int,
) -> np.ndarray:
    """One axis of the mask synthesis: ``S[u, j] = sum_r sinc^q(nu_u P - r M - k_j) / env_j``.

    The sum over the input-sampling replicas ``r = -1, 0, 1`` (``M = N s`` input pixels per
    period) makes the mask the DTFT of the sampled windowed kernel, so the output is exact on
    the input pixel grid whatever the band; off the grid it is exact where the band's tails
    vanish at the zone edge.

    Args:
        nu: (U,) spatial frequencies of the Fourier pixels, 1/m (input plane).
        period_m: the image period P on the input SLM, metres.
        freqs: (J,) signed frequencies of the band (image-period units).
        order: B-spline order q (>= 2).
        envelope: (J,) block envelope to divide out.
        samples_per_period: input-SLM pixels per period (N s).

    Returns:
        (U, J) float64.
    """
    arg = nu[:, None] * period_m - freqs[None, :]
    total = sum(np.sinc(arg - r * samples_per_period) ** order for r in (-1, 0, 1))
    return total / envelope[None, :]


def harmonic_set(band: np.ndarray, detection: str) -> np.ndarray:
    """Harmonics (image-period units) of what the camera reads for one axis: the field's band
    ``B`` for a reference measurement (real part: ``B`` and ``-B``), ``B - B`` for an
    intensity."""
    band = np.unique(band)
    if detection == "ideal":
        return np.unique(np.concatenate([band, -band]))
    return np.unique((band[:, None] - band[None, :]).ravel())


def readout_matrix(
    t_samples: np.ndarray, t_out: np.ndarray, period: int, harmonics: np.ndarray
) -> np.ndarray:
    """Least-squares trigonometric interpolation from camera samples to output positions.

    A function ``sum_h c_h exp(2 pi i h t / N)`` known at ``t_samples`` is evaluated at
    ``t_out``: ``R = E(t_out) pinv(E(t_samples))`` (exact when the samples determine the
    coefficients).

    Returns:
        (len(t_out), len(t_samples)) complex128.

    Raises:
        ValueError: when there are fewer samples than harmonics or the fit is ill-conditioned.
    """
    h = np.asarray(harmonics, dtype=np.float64)
    e_s = np.exp(2j * np.pi * np.outer(t_samples, h) / period)
    e_o = np.exp(2j * np.pi * np.outer(t_out, h) / period)
    r = e_o @ np.linalg.pinv(e_s, rcond=1e-10)
    # exact when every output row lies in the span the samples determine (also when the
    # samples fall on the output positions themselves, fewer samples than harmonics)
    residual = np.abs(r @ e_s - e_o).max()
    if residual > 1e-6:
        raise ValueError(
            f"{len(t_samples)} camera samples per period cannot resolve {len(h)} harmonics "
            f"(readout residual {residual:.2g})"
        )
    return r
