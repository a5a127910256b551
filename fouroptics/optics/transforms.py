"""Discrete lens transforms between pixel grids: centred DFT phases, matrix Fourier transforms
(MFT) onto arbitrary grids, band-limited resampling matrices, Gauss-Legendre pixel nodes.

Sign convention (the only one in fouroptics): the forward transform is
``F(nu) = integral f(x) exp(-2 pi i nu x) dx``. A lens of focal length f maps the field at its
front focal plane to ``U(u) = 1/(i lambda f) * F(u / (lambda f))`` at its back focal plane
(the constant phase ``exp(2 i k f)`` of the optical path is dropped).
"""

from __future__ import annotations

import numpy as np


def centred_dft_phases(n: int) -> tuple[np.ndarray, np.ndarray, complex]:
    """Factors that turn a plain FFT into the centred DFT on ``axis_coords`` grids.

    ``sum_j x_j exp(-2 pi i (j - c)(k - c) / n) = const * post[k] * FFT(pre * x)[k]``, with
    ``c = n // 2``. For even ``n``, ``pre = post = (-1)^j`` and ``const = (-1)^(n/2)``.

    Returns:
        pre (n,), post (n,) complex128 and the complex constant.
    """
    c = n // 2
    j = np.arange(n)
    ramp = np.exp(2j * np.pi * ((j * c) % n) / n)
    const = np.exp(-2j * np.pi * ((c * c) % n) / n)
    return ramp, ramp.copy(), complex(const)


def mft_matrix(x_from: np.ndarray, x_to: np.ndarray, scale: float) -> np.ndarray:
    """Matrix ``A[k, j] = exp(-2 pi i x_from[j] * x_to[k] / scale)``, complex128 (n_to, n_from).

    For a lens, ``scale = lambda * f``: ``A @ field`` samples the (unnormalised) Fourier
    transform of a sampled field at the physical positions ``x_to`` of the next plane.
    """
    phase = np.outer(x_to, x_from) / scale
    phase -= np.round(phase)  # reduce the argument before exp: keeps complex128 exact
    return np.exp(-2j * np.pi * phase)


def is_dft_pair(n_from: int, p_from: float, n_to: int, p_to: float, scale: float) -> bool:
    """True when the lens transform between these grids is exactly a centred n-point DFT."""
    return n_from == n_to and abs(p_from * p_to * n_from / scale - 1.0) < 1e-9


def gauss_legendre_nodes(order: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (metres) and weights (summing to 1) of ``order``-point Gauss-Legendre on
    ``[-width/2, width/2]``: the quadrature of a pixel aperture of side ``width``."""
    t, w = np.polynomial.legendre.leggauss(order)
    return t * width / 2.0, w / 2.0


def bandlimited_resample_matrix(
    x_from: np.ndarray, pitch_from: float, x_to: np.ndarray
) -> np.ndarray:
    """Trigonometric (periodic-sinc) interpolation from a uniform grid to arbitrary points.

    Exact for fields band-limited to ``|nu| < 1 / (2 pitch_from)`` that vanish near the edges of
    the source grid (the trigonometric interpolant is periodic with the grid's extent); rows for
    points outside the source grid are zero.

    Args:
        x_from: (n,) uniform source coordinates, metres (``axis_coords`` convention).
        pitch_from: their spacing, metres.
        x_to: (m,) target coordinates, metres.

    Returns:
        (m, n) complex128 matrix R with ``f(x_to) ~= R @ f(x_from)``.
    """
    n = x_from.size
    nu = (np.arange(n) - n // 2) / (n * pitch_from)
    analysis = np.exp(-2j * np.pi * np.outer(nu, x_from)) / n  # (n_nu, n)
    synthesis = np.exp(2j * np.pi * np.outer(x_to, nu))  # (m, n_nu)
    if n % 2 == 0:  # split the Nyquist term symmetrically so real fields stay real
        synthesis[:, 0] = np.cos(2 * np.pi * x_to * nu[0])
    r = synthesis @ analysis
    # Outside the sampled window the field is unknown: zero. The point one pitch past the last
    # sample is kept: it is the periodic image of the first one (exact for a centred DFT grid).
    tol = 1e-9 * pitch_from
    outside = (x_to < x_from[0] - tol) | (x_to > x_from[-1] + pitch_from + tol)
    r[outside] = 0.0
    return r


def separable_transform(x, ay, axt):
    """``ay @ x @ axt`` over the last two axes of ``x`` (..., h, w): the one separable (matrix
    Fourier / resampling) transform of fouroptics, for numpy arrays or torch tensors.

    Args:
        x: (..., h, w) data.
        ay: (H, h) matrix acting on rows.
        axt: (w, W) matrix acting on columns (already transposed).

    Returns:
        (..., H, W), as large GEMMs (the batch is folded into the first product).
    """
    if hasattr(x, "new_zeros"):  # torch
        import torch

        return torch.matmul(ay, torch.matmul(x, axt))
    *batch, h, w = x.shape
    z = (x.reshape(-1, w) @ axt).reshape(*batch, h, axt.shape[1])
    return np.matmul(ay, z)
