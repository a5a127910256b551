"""Orientation, magnification, the shift theorem, energy conservation and the FT sign."""

from __future__ import annotations

import numpy as np
import pytest

from fouroptics.optics import FourFSystem, PixelGrid


def mismatched() -> FourFSystem:
    return FourFSystem(
        wavelength="532 nm",
        f1="100 mm",
        f2="150 mm",
        input_slm=PixelGrid((64, 64), "8 um"),
        fourier_slm=PixelGrid((1080, 1080), "6.4 um"),
        camera=PixelGrid((256, 256), "5.5 um"),
        dtype="complex128",
    )


def centroid(intensity: np.ndarray, system: FourFSystem) -> tuple[float, float]:
    y, x = system.camera.coords(0), system.camera.coords(1)
    total = intensity.sum()
    return float((intensity.sum(1) @ y) / total), float((intensity.sum(0) @ x) / total)


def blob(system: FourFSystem, y0: float, x0: float, sigma_px: float = 2.0) -> np.ndarray:
    y, x = system.input_slm.coords(0), system.input_slm.coords(1)
    s = sigma_px * system.input_pitch
    return np.exp(-((y[:, None] - y0) ** 2 + (x[None, :] - x0) ** 2) / (2 * s**2))


def test_fourier_sign_convention_positive_tilt_lands_at_positive_u() -> None:
    """exp(+2 pi i nu x) on the input (a beam tilted toward +x) focuses at u = +lambda f1 nu,
    because the forward transform is exp(-2 pi i nu x)."""
    system = FourFSystem.matched((64, 64), "8 um", f1="100 mm", dtype="complex128")
    x = system.input_slm.coords(1)
    nu = 5 / (64 * 8e-6)  # five cycles across the SLM
    field = np.ones((64, 1)) * np.exp(2j * np.pi * nu * x)[None, :]
    u = np.abs(system.fourier_plane(field)) ** 2
    ky, kx = np.unravel_index(np.argmax(u), u.shape)
    assert system.fourier_slm.coords(1)[kx] == pytest.approx(system.wavelength * system.f1 * nu)
    assert system.fourier_slm.coords(0)[ky] == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: FourFSystem.matched((64, 64), "8 um", f1=0.1, f2=0.15, dtype="complex128"),
        mismatched,
    ],
)
def test_off_centre_point_lands_inverted_and_magnified(make) -> None:
    """A small Gaussian spot (well inside the band, so nothing is clipped) centred off axis."""
    system = make()
    jy, jx = 32 + 9, 32 - 14  # pixel offsets (+9, -14) from the axis
    y0, x0 = system.input_slm.coords(0)[jy], system.input_slm.coords(1)[jx]
    field = blob(system, y0, x0)
    out = system.forward(field)
    cy, cx = centroid(np.abs(out) ** 2, system)
    m = system.f2 / system.f1
    assert cy == pytest.approx(-m * y0, abs=0.05 * system.camera_pitch)
    assert cx == pytest.approx(-m * x0, abs=0.05 * system.camera_pitch)


def test_clear_mask_images_input_with_amplitude_minus_f1_over_f2() -> None:
    system = FourFSystem.matched((64, 64), "8 um", f1=0.1, f2=0.2, dtype="complex128")
    rng = np.random.default_rng(0)
    field = np.zeros((64, 64), complex)
    field[8:56, 8:56] = rng.standard_normal((48, 48)) + 1j * rng.standard_normal((48, 48))
    out = system.forward(field)
    # camera pixel m sits at y = (m - 32) p_cam and sees input pixel at -y f1/f2 -> index 64 - m
    expected = -0.5 * np.roll(field[::-1, ::-1], 1, axis=(0, 1))
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("shift_px", [(3, -5), (-7, 0)])
def test_phase_ramp_on_fourier_slm_shifts_output_by_lambda_f2_nu(shift_px) -> None:
    system = FourFSystem.matched((64, 64), "8 um", f1=0.1, f2=0.15, dtype="complex128")
    rng = np.random.default_rng(1)
    field = np.zeros((64, 64))
    field[20:44, 20:44] = rng.random((24, 24))
    pc = system.camera_pitch
    nu_y, nu_x = (s * pc / (system.wavelength * system.f2) for s in shift_px)
    uy, ux = system.fourier_coords()
    ramp = np.exp(2j * np.pi * (nu_y * uy[:, None] + nu_x * ux[None, :]))
    np.testing.assert_allclose(system.shift_ramp(shift_px[0] * pc, shift_px[1] * pc), ramp)
    shifted = system.forward(field, ramp)
    np.testing.assert_allclose(
        shifted, np.roll(system.forward(field), shift_px, axis=(0, 1)), atol=1e-12
    )


def test_phase_ramp_shift_on_mismatched_grids() -> None:
    system = mismatched()
    field = blob(system, 0.0, 0.0)
    nu = 20e-6 / (system.wavelength * system.f2)  # a ramp that should move the image by 20 um
    ux = system.fourier_coords()[1]
    ramp = np.ones((1080, 1)) * np.exp(2j * np.pi * nu * ux)[None, :]
    base = centroid(np.abs(system.forward(field)) ** 2, system)
    moved = centroid(np.abs(system.forward(field, ramp)) ** 2, system)
    assert moved[1] - base[1] == pytest.approx(system.wavelength * system.f2 * nu, rel=1e-3)
    assert moved[0] == pytest.approx(base[0], abs=1e-9)


def test_energy_is_conserved_through_the_matched_system() -> None:
    system = FourFSystem.matched((128, 128), "8 um", f1=0.1, f2=0.25, dtype="complex128")
    rng = np.random.default_rng(2)
    field = rng.standard_normal((3, 128, 128)) + 1j * rng.standard_normal((3, 128, 128))
    p_in = np.sum(np.abs(field) ** 2, axis=(-2, -1)) * system.input_pitch**2
    p_f = np.sum(np.abs(system.fourier_plane(field)) ** 2, axis=(-2, -1)) * system.fourier_pitch**2
    phase_mask = np.exp(2j * np.pi * rng.random(system.fourier_shape))
    p_cam = system.intensity(system.forward(field, phase_mask)).sum(axis=(-2, -1))
    np.testing.assert_allclose(p_f, p_in, rtol=1e-12)
    np.testing.assert_allclose(p_cam, p_in, rtol=1e-12)


def test_lens_aperture_is_a_low_pass_stop() -> None:
    """A grating finer than the lens cut-off D / (2 lambda f1) does not reach the camera."""
    base = dict(wavelength=532e-9, f1=0.1, f2=0.1, dtype="complex128")
    open_ = FourFSystem.matched((64, 64), 8e-6, **base)
    stopped = FourFSystem.matched((64, 64), 8e-6, lens_aperture=1e-3, **base)
    x = open_.input_slm.coords(1)
    cutoff = 1e-3 / (2 * 532e-9 * 0.1)  # 4.8 cycles per 64 pixels
    assert 4 < cutoff * 64 * 8e-6 < 5
    low = np.cos(2 * np.pi * 3 * x / (64 * 8e-6))[None, :] * np.ones((64, 1))
    high = np.cos(2 * np.pi * 7 * x / (64 * 8e-6))[None, :] * np.ones((64, 1))
    np.testing.assert_allclose(stopped.forward(low), open_.forward(low), atol=1e-12)
    assert np.abs(stopped.forward(high)).max() < 1e-12
    assert np.abs(open_.forward(high)).max() > 0.1
