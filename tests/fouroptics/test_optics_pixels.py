"""The Fourier SLM pixel aperture: analytic sinc of one open pixel, and the gap zero order."""

from __future__ import annotations

import numpy as np
import pytest

from fouroptics.optics import FourFSystem, PixelGrid


def one_pixel_system(quadrature: int, fill_factor: float) -> FourFSystem:
    return FourFSystem(
        wavelength=532e-9,
        f1=0.05,
        f2=0.05,
        input_slm=PixelGrid((33, 33), 20e-6),
        fourier_slm=PixelGrid((15, 15), 100e-6, fill_factor=fill_factor),
        camera=PixelGrid((41, 41), 10e-6),
        pixel_quadrature=quadrature,
        dtype="complex128",
    )


def test_single_open_pixel_gives_the_analytic_sinc_pattern() -> None:
    """A point source and one open pixel of side a: E(y) = -(p^2 a^2/(l^2 f1 f2))
    sinc(a (x0/(l f1) + y/(l f2))) per axis (numpy's sinc = sin(pi t)/(pi t))."""
    ff = 0.64
    system = one_pixel_system(quadrature=6, fill_factor=ff)
    field = np.zeros(system.input_shape)
    field[16 + 5, 16 - 3] = 1.0
    x0y, x0x = system.input_slm.coords(0)[21], system.input_slm.coords(1)[13]
    mask = np.zeros(system.fourier_shape)
    mask[7, 7] = 1.0  # the pixel on the axis
    out = system.forward(field, mask)
    lam, f1, f2, a = system.wavelength, system.f1, system.f2, system.fourier_slm.aperture
    y, x = system.camera.coords(0), system.camera.coords(1)
    sy = np.sinc(a * (x0y / (lam * f1) + y / (lam * f2)))
    sx = np.sinc(a * (x0x / (lam * f1) + x / (lam * f2)))
    expected = -(20e-6**2) * a**2 / (lam**2 * f1 * f2) * np.outer(sy, sx)
    assert np.abs(expected).min() < 0.2 * np.abs(expected).max()  # the pattern really varies
    np.testing.assert_allclose(out, expected, atol=1e-6 * np.abs(expected).max())


def test_centre_sampling_ignores_the_envelope() -> None:
    system = one_pixel_system(quadrature=1, fill_factor=0.64)
    field = np.zeros(system.input_shape)
    field[16, 16] = 1.0
    mask = np.zeros(system.fourier_shape)
    mask[7, 7] = 1.0
    out = system.forward(field, mask)
    np.testing.assert_allclose(np.abs(out), np.abs(out[0, 0]), rtol=1e-12)


@pytest.mark.parametrize("quadrature", [1, 3])
def test_gap_light_is_an_unfiltered_zero_order(quadrature: int) -> None:
    """All pixels 'off' (mask 0): only the gaps reflect, a fraction (1 - ff) of a clear SLM."""
    ff = 0.9
    system = FourFSystem.matched((64, 64), 8e-6, dtype="complex128").with_options(
        fourier_slm=PixelGrid((64, 64), 532e-9 * 0.1 / (64 * 8e-6), ff, gap_transmission=1.0),
        pixel_quadrature=quadrature,
    )
    rng = np.random.default_rng(0)
    field = np.zeros((64, 64))
    field[24:40, 24:40] = rng.random((16, 16))
    dark = system.forward(field, np.zeros(system.fourier_shape))
    clear = system.forward(field)
    if quadrature == 1:
        np.testing.assert_allclose(dark, (1 - ff) * clear, atol=1e-12)
    else:
        # integrated over the cells the same holds to the accuracy of the quadrature
        ratio = np.linalg.norm(dark) / np.linalg.norm(clear)
        assert ratio == pytest.approx(1 - ff, rel=0.05)


def test_one_pixelated_input_pixel_diffracts_as_a_square_aperture() -> None:
    """A single input pixel of side a = sqrt(ff) p: U(u) = a^2/(i lambda f) sinc(a nu_y)
    sinc(a nu_x), nu = u / (lambda f1) (Fraunhofer pattern of a square)."""
    ff = 0.81
    system = FourFSystem(
        wavelength=633e-9,
        f1=0.2,
        f2=0.2,
        input_slm=PixelGrid((16, 16), 12e-6, fill_factor=ff),
        fourier_slm=PixelGrid((301, 301), 200e-6),
        camera=PixelGrid((16, 16), 12e-6),
        input_pixel_model="aperture",
        dtype="complex128",
    )
    field = np.zeros(system.input_shape)
    field[8, 8] = 1.0
    u = system.fourier_slm.coords(0)
    a, lf = np.sqrt(ff) * 12e-6, 633e-9 * 0.2
    expected = a**2 / (1j * lf) * np.outer(np.sinc(a * u / lf), np.sinc(a * u / lf))
    assert np.abs(expected).min() < 0.01 * np.abs(expected).max()  # the pattern has zeros
    np.testing.assert_allclose(
        system.fourier_plane(field), expected, atol=1e-12 * abs(expected).max()
    )


def test_pixelated_input_still_convolves_exactly() -> None:
    """kernel_to_mask divides the input-pixel envelope out, so the chain is a convolution."""
    import scipy.signal

    from fouroptics.optics import crop_centre, embed_centre

    system = FourFSystem.matched((64, 64), "8 um", dtype="complex128").with_options(
        input_pixel_model="aperture"
    )
    rng = np.random.default_rng(4)
    x, k = rng.standard_normal((40, 40)), rng.standard_normal((5, 5))
    out = system.output_to_input_grid(
        system.forward(embed_centre(x, (64, 64)), system.kernel_to_mask(k))
    )
    ref = scipy.signal.fftconvolve(x, k, mode="same")
    assert np.linalg.norm(crop_centre(out, (40, 40)) - ref) / np.linalg.norm(ref) < 1e-10
    # and without the compensation the envelope really is there
    plain = system.with_options(input_pixel_model="point")
    raw = system.output_to_input_grid(
        system.forward(embed_centre(x, (64, 64)), plain.kernel_to_mask(k))
    )
    assert np.linalg.norm(crop_centre(raw, (40, 40)) - ref) / np.linalg.norm(ref) > 0.05
