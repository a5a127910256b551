"""The two halves agree: an SCLC's collapsed Fourier kernel, displayed on a 4f system through
kernel_to_mask, reproduces the SCLC's optical output field.

The SCLC convolves circularly (a DFT product on an n x n grid); the 4f system convolves
linearly. Showing the image's periodic extension (3 x 3 tiles) on the input SLM makes the linear
convolution over the central tile equal the circular one: the recipe the mask compiler can use.
"""

from __future__ import annotations

import numpy as np
import torch

from fouroptics.nn.sclc import SpectralStack
from fouroptics.optics import FourFSystem, crop_centre, embed_centre


def spatial_kernel(fourier_kernel: np.ndarray) -> np.ndarray:
    """SCLC kernel (unshifted n x n DFT layout) -> spatial kernel with its origin at
    ((n - 1) // 2, (n - 1) // 2), the convention of FourFSystem.kernel_to_mask."""
    n = fourier_kernel.shape[-1]
    k = np.fft.ifft2(fourier_kernel)  # origin at index 0, circular
    return np.roll(k, ((n - 1) // 2, (n - 1) // 2), axis=(-2, -1))


def test_collapsed_sclc_kernel_runs_on_a_matched_4f_system() -> None:
    n = 16
    stack = SpectralStack([1, 2, 3], [n, n, n], seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # kernels that fill the whole plane, not just the 5x5 start
        for p in stack.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.rand(2, 1, n, n, generator=g, dtype=torch.float32)
    reference = stack.forward_layers(x).detach().numpy()  # [B, 3, n, n]

    kernels = stack.collapse().detach().numpy()  # [3, 1, n, n]
    system = FourFSystem.matched((4 * n, 4 * n), "8 um", f1=0.1, f2=0.1, dtype="complex128")
    tiled = np.tile(x.numpy()[:, 0], (1, 3, 3))  # periodic extension, (B, 3n, 3n)
    field = embed_centre(tiled, system.input_shape)
    masks = system.kernel_to_mask(spatial_kernel(kernels[:, 0]))  # (3, 4n, 4n)
    for o in range(3):
        out = system.output_to_input_grid(system.forward(field, masks[o]))
        got = crop_centre(out, (n, n))
        err = np.linalg.norm(got - reference[:, o]) / np.linalg.norm(reference[:, o])
        assert err < 1e-5, (o, err)


def test_spectral_pooling_is_a_band_limit_sampled_by_a_coarser_camera() -> None:
    """Pooling 16 -> 8: the mask passes only the central 8 x 8 DFT band, and the pooled output
    is the band-limited field on every second input-plane pixel."""
    from fouroptics.nn.spectral import crop_indices

    n, m = 16, 8
    stack = SpectralStack([1, 2], [n, m], seed=3)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in stack.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.rand(1, 1, n, n, generator=g)
    reference = stack.forward_layers(x).detach().numpy()  # [1, 2, m, m]

    kernels = stack.collapse().detach().numpy()[:, 0]  # [2, m, m], unshifted
    idx = crop_indices(n, m).numpy()
    padded = np.zeros((2, n, n), complex)
    padded[:, idx[:, None], idx[None, :]] = kernels  # the same band on the n-point DFT grid
    system = FourFSystem.matched((4 * n, 4 * n), "8 um", dtype="complex128")
    field = embed_centre(np.tile(x.numpy()[:, 0], (1, 3, 3)), system.input_shape)
    masks = system.kernel_to_mask(spatial_kernel(padded))
    for o in range(2):
        tile = crop_centre(system.output_to_input_grid(system.forward(field, masks[o])), (n, n))
        got = tile[:, ::2, ::2]
        err = np.linalg.norm(got - reference[:, o]) / np.linalg.norm(reference[:, o])
        assert err < 1e-5, (o, err)
