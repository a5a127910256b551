"""fouroptics.optics.pixels, the one home of pixel apertures, against direct integrals."""

from __future__ import annotations

import numpy as np
import pytest

from fouroptics.optics import FourFSystem, pixels


def test_compensate_inverts_the_effective_transmission() -> None:
    rng = np.random.default_rng(0)
    target = 0.5 * (rng.standard_normal((8, 8)) + 1j * rng.standard_normal((8, 8)))
    for ff, gap in ((0.93, 1.0), (0.8, 0.3 - 0.2j), (1.0, 1.0), (0.7, 0.0)):
        shown = pixels.compensate(target, ff, gap)
        np.testing.assert_allclose(pixels.effective_transmission(shown, ff, gap), target)


def test_max_passive_scale_keeps_the_shown_mask_passive() -> None:
    rng = np.random.default_rng(1)
    target = rng.standard_normal((16, 16)) + 1j * rng.standard_normal((16, 16))
    s = pixels.max_passive_scale(target, 0.93, 1.0)
    assert np.abs(pixels.compensate(s * target, 0.93, 1.0)).max() <= 1 + 1e-12
    with pytest.raises(ValueError, match="cannot cancel"):
        pixels.max_passive_scale(target, 0.4, 1.0)


def test_aperture_envelope_is_the_integral_over_the_pixel() -> None:
    a, nu = 6e-6, np.array([0.0, 2e4, 6e4, 1.1e5])
    x = np.linspace(-a / 2, a / 2, 20001)
    direct = [np.trapezoid(np.exp(-2j * np.pi * f * x), x).real / a for f in nu]
    np.testing.assert_allclose(pixels.aperture_envelope(a, nu), direct, atol=1e-8)


def test_system_and_engine_use_the_pixel_home() -> None:
    """The system's input envelope is the module's; a clear mask on a 93% pixel with gap light
    1 transmits exactly 1 (pixel-centre model)."""
    s = FourFSystem.matched((16, 16), "8 um", input_pixel_model="aperture")
    ny, nx = s.spatial_frequencies()
    np.testing.assert_allclose(
        s.input_envelope(), pixels.input_envelope(s.input_slm.aperture, 1.0, ny, nx)
    )
    assert pixels.effective_transmission(1.0, 0.93, 1.0) == pytest.approx(1.0)


def test_simulated_slm_uses_the_pixel_home() -> None:
    from devices.simulated.slm import SimulatedSLM

    slm = SimulatedSLM((4, 4), 8e-6, modulation="phase", fill_factor=0.9, dead_space=0.5)
    levels = np.full((4, 4), 64, dtype=np.uint16)
    inner = slm.field(levels, fill_factor=False)
    np.testing.assert_allclose(slm.field(levels), pixels.effective_transmission(inner, 0.9, 0.5))
