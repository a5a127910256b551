"""User kernels: a compiled bundle reproduces scipy.signal.fftconvolve(image, k, "same") within
1e-2 (relative RMS) for kernels 3x3 .. 31x31 on both example systems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve

from fouroptics.compiler import compile_kernels
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]


def system(name: str) -> FourFSystem:
    return FourFSystem.from_yaml(ROOT / "examples" / "systems" / f"{name}.yaml")


def nrmse(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


def reference(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """(B, 1, n, n) images, (C, k, k) kernels -> (B, C, n, n) with scipy."""
    return np.stack(
        [np.stack([fftconvolve(im[0], k, mode="same") for k in kernels]) for im in images]
    )


@pytest.mark.parametrize("name", ["matched", pytest.param("realistic", marks=pytest.mark.slow)])
@pytest.mark.parametrize("size", [3, 8, 17, 31])
def test_signed_pairs_reproduce_fftconvolve(name: str, size: int) -> None:
    rng = np.random.default_rng(size)
    kernels = rng.standard_normal((2, size, size))
    images = rng.random((2, 1, 24, 24))
    bundle = compile_kernels(kernels, system(name), image_size=24, detection="signed")
    got = bundle.simulate(images)
    assert nrmse(got, reference(images, kernels)) <= 1e-2


@pytest.mark.parametrize("name", ["matched", "realistic"])
def test_reference_detection_reproduces_fftconvolve(name: str) -> None:
    """The real part through a coherent reference (two exposures, +R and -R)."""
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 5, 5))
    images = rng.random((2, 1, 20, 20))
    bundle = compile_kernels(kernels, system(name), image_size=20, detection="ideal")
    assert bundle.n_frames % 2 == 0
    assert nrmse(bundle.simulate(images), reference(images, kernels)) <= 1e-2


def test_intensity_detection_is_the_squared_convolution() -> None:
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((7, 7)) + 1j * rng.standard_normal((7, 7))
    images = rng.random((2, 1, 16, 16))
    bundle = compile_kernels(kernel, system("matched"), image_size=16, detection="intensity")
    ref = np.abs(reference(images, kernel[None])) ** 2
    assert nrmse(bundle.simulate(images), ref) <= 1e-2


def test_fourier_kernels_convolve_circularly() -> None:
    """Fourier kernels on the image's own DFT grid give the circular convolution."""
    rng = np.random.default_rng(2)
    n = 16
    spectra = rng.standard_normal((2, 1, n, n)) + 1j * rng.standard_normal((2, 1, n, n))
    images = rng.random((2, 1, n, n))
    bundle = compile_kernels(spectra, system("matched"), image_size=n, fourier=True)
    want = np.fft.ifft2(spectra[None, :, 0] * np.fft.fft2(images)).real
    assert nrmse(bundle.simulate(images), want) <= 1e-2


def test_fourier_pixel_fill_factor_gap_light_and_envelope_are_compensated() -> None:
    """93% fill factor, gaps reflecting unmodulated light, pixels integrated over their
    aperture (2x2 nodes): the compiled bundle still reproduces fftconvolve."""
    s = FourFSystem.from_dict(
        {
            "wavelength": "532 nm",
            "f1": "100 mm",
            "f2": "100 mm",
            "input_slm": {"shape": [160, 160], "pitch": "8 um"},
            "fourier_slm": {
                "shape": [160, 160],
                "pitch": "matched",
                "fill_factor": 0.93,
                "gap_transmission": 1.0,
            },
            "camera": {"shape": [160, 160], "pitch": "matched"},
            "pixel_quadrature": 2,
        }
    )
    rng = np.random.default_rng(4)
    kernels = rng.standard_normal((2, 5, 5))
    images = rng.random((2, 1, 12, 12))
    bundle = compile_kernels(kernels, s, image_size=12, detection="signed")
    assert any("envelope" in w for w in bundle.warnings)
    assert nrmse(bundle.simulate(images), reference(images, kernels)) <= 1e-2
    shown = np.abs(bundle.fourier_masks).max()
    assert shown <= 1 + 1e-6  # passive after compensation
