"""The 4f chain convolves: output_to_input_grid(forward(x, kernel_to_mask(k))) == x * k.

Reference: scipy.signal.fftconvolve(x, k, mode='same'), an independent implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from fouroptics.optics import FourFSystem, PixelGrid, crop_centre, embed_centre


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def run_chain(system: FourFSystem, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    field = embed_centre(x, system.input_shape)
    out = system.output_to_input_grid(system.forward(field, system.kernel_to_mask(k)))
    return crop_centre(out, x.shape)


def matched_system(n_image: int, n_kernel: int) -> FourFSystem:
    # Pad to a power of two >= n + k - 1 so that the DFT's periodic wrap never reaches the image.
    n = 1 << int(np.ceil(np.log2(n_image + n_kernel - 1)))
    return FourFSystem.matched((n, n), "8 um", f1="100 mm", f2="150 mm", dtype="complex128")


def mismatched_system(n_image: int, n_kernel: int, dtype: str = "complex128") -> FourFSystem:
    """p_in 8 um, p_F 6.4 um, 532 nm, f1 100 mm, f2 150 mm; a 5.5 um camera."""
    n_cam = int(np.ceil((n_image + n_kernel) * 8e-6 * 1.5 / 5.5e-6 * 1.1)) + 16
    return FourFSystem(
        wavelength="532 nm",
        f1="100 mm",
        f2="150 mm",
        input_slm=PixelGrid((n_image, n_image), "8 um"),
        fourier_slm=PixelGrid((1080, 1080), "6.4 um"),
        camera=PixelGrid((n_cam, n_cam), "5.5 um"),
        dtype=dtype,
    )


@pytest.mark.parametrize(("n", "k"), [(64, 3), (100, 8), (128, 31), (512, 15)])
def test_matched_system_convolves_exactly(n: int, k: int) -> None:
    rng = np.random.default_rng(n + k)
    x, kern = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    system = matched_system(n, k)
    assert system.sampling_report()["fourier_transform"] == "fft"
    got = run_chain(system, x, kern)
    assert rel_l2(got, scipy.signal.fftconvolve(x, kern, mode="same")) < 1e-4


@pytest.mark.parametrize(("n", "k"), [(64, 3), (96, 31), (512, 31)])
def test_mismatched_system_convolves(n: int, k: int) -> None:
    rng = np.random.default_rng(n * k)
    x, kern = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    system = mismatched_system(n, k)
    report = system.sampling_report()
    assert report["fourier_transform"] == "mft" and report["warnings"] == []
    got = run_chain(system, x, kern)
    assert rel_l2(got, scipy.signal.fftconvolve(x, kern, mode="same")) < 1e-2


def test_complex_kernel_and_complex_field_in_single_precision() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((48, 48)) + 1j * rng.standard_normal((48, 48))
    kern = rng.standard_normal((5, 6)) + 1j * rng.standard_normal((5, 6))  # even width too
    system = mismatched_system(48, 6, dtype="complex64")
    got = run_chain(system, x, kern)
    assert rel_l2(got, scipy.signal.fftconvolve(x, kern, mode="same")) < 1e-3


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(8, 40),
    k=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_matched_convolution_property(n: int, k: int, seed: int) -> None:
    """Any image size (odd or even) and kernel size, embedded in a padded matched system."""
    rng = np.random.default_rng(seed)
    x, kern = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    got = run_chain(matched_system(n, k), x, kern)
    assert rel_l2(got, scipy.signal.fftconvolve(x, kern, mode="same")) < 1e-8


def test_batched_forward_equals_per_image_forward() -> None:
    rng = np.random.default_rng(3)
    system = mismatched_system(32, 5, dtype="complex128")
    batch = rng.standard_normal((2, 3, 32, 32))
    mask = system.kernel_to_mask(rng.standard_normal((5, 5)))
    together = system.forward(batch, mask)
    one = system.forward(batch[1, 2], mask)
    np.testing.assert_allclose(together[1, 2], one, rtol=1e-10, atol=1e-12 * np.abs(one).max())
