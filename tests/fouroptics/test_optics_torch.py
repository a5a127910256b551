"""The torch twin gives the numpy path's numbers and passes gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fouroptics.optics import FourFSystem, PixelGrid


def systems(dtype: str = "complex64") -> list[FourFSystem]:
    matched = FourFSystem.matched((64, 64), "8 um", f1=0.1, f2=0.15, dtype=dtype)
    mft = FourFSystem(
        wavelength="633 nm",
        f1="50 mm",
        f2="75 mm",
        input_slm=PixelGrid((40, 48), "10 um"),
        fourier_slm=PixelGrid((90, 80), "7 um", fill_factor=0.9, gap_transmission=0.8),
        camera=PixelGrid((70, 76), "9 um"),
        lens_aperture="0.6 mm",
        pixel_quadrature=2,
        dtype=dtype,
    )
    return [matched, mft]


@pytest.mark.parametrize("index", [0, 1])
def test_torch_forward_matches_numpy_in_single_precision(index: int) -> None:
    system = systems()[index]
    rng = np.random.default_rng(index)
    field = (rng.standard_normal((3, *system.input_shape))).astype(np.complex64)
    mask = np.exp(2j * np.pi * rng.random(system.fourier_shape)).astype(np.complex64)
    ref = system.forward(field, mask)
    got = system.forward(torch.from_numpy(field), torch.from_numpy(mask)).numpy()
    assert got.dtype == np.complex64
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-5
    ref_f = system.fourier_plane(field)
    got_f = system.fourier_plane(torch.from_numpy(field)).numpy()
    assert np.linalg.norm(got_f - ref_f) / np.linalg.norm(ref_f) < 1e-5


@pytest.mark.parametrize("index", [0, 1])
def test_torch_kernel_mask_and_resampling_match_numpy(index: int) -> None:
    system = systems("complex128")[index]
    rng = np.random.default_rng(5)
    kernel = rng.standard_normal((2, 5, 5))
    np.testing.assert_allclose(
        system.kernel_to_mask(torch.from_numpy(kernel)).numpy(),
        system.kernel_to_mask(kernel),
        rtol=1e-10,
        atol=1e-12,
    )
    cam = rng.standard_normal(system.camera_shape) + 1j * rng.standard_normal(system.camera_shape)
    np.testing.assert_allclose(
        system.output_to_input_grid(torch.from_numpy(cam)).numpy(),
        system.output_to_input_grid(cam),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("index", [0, 1])
def test_gradients_flow_and_match_finite_differences(index: int) -> None:
    system = systems("complex128")[index]
    small = system.with_options(
        input_slm=PixelGrid((6, 6), system.input_pitch),
        fourier_slm=system.fourier_slm.__class__(
            (6, 6),
            system.wavelength * system.f1 / (6 * system.input_pitch) if index == 0 else 7e-6,
            system.fourier_slm.fill_factor,
            system.fourier_slm.gap_transmission,
        ),
        camera=PixelGrid(
            (6, 6), system.input_pitch * system.f2 / system.f1 if index == 0 else 9e-6
        ),
        lens_aperture=None,
    )
    g = torch.Generator().manual_seed(0)
    field = torch.randn(6, 6, dtype=torch.complex128, generator=g, requires_grad=True)
    mask = torch.randn(6, 6, dtype=torch.complex128, generator=g, requires_grad=True)

    def loss(f: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return small.intensity(small.forward(f, m)).sum() * 1e6

    assert torch.autograd.gradcheck(loss, (field, mask), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_trainable_mask_learns_a_convolution() -> None:
    """End to end: optimise a Fourier mask through the torch twin so the camera sees x*k."""
    import scipy.signal

    system = FourFSystem.matched((32, 32), "8 um", f1=0.1, f2=0.1)
    rng = np.random.default_rng(0)
    x = np.zeros((8, 32, 32))
    x[:, 8:24, 8:24] = rng.random((8, 16, 16))
    k = rng.standard_normal((3, 3))
    target = np.stack([scipy.signal.fftconvolve(xi, k, mode="same") for xi in x])
    xt, tt = torch.from_numpy(x).float(), torch.from_numpy(target).float()
    mask = torch.zeros(system.fourier_shape, dtype=torch.complex64, requires_grad=True)
    opt = torch.optim.Adam([mask], lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        out = system.output_to_input_grid(system.forward(xt, mask)).real
        loss = torch.mean((out - tt) ** 2)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3 * float(torch.mean(tt**2))


def test_system_precision_governs_the_result_dtype() -> None:
    system = FourFSystem.matched((32, 32), "8 um")  # complex64
    mask128 = system.kernel_to_mask(np.ones((3, 3)))  # complex128 from kernel_to_mask
    assert system.forward(np.ones((2, 32, 32)), mask128).dtype == np.complex64
    out = system.forward(torch.ones(2, 32, 32), torch.from_numpy(mask128))
    assert out.dtype == torch.complex64
