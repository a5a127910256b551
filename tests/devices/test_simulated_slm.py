"""SimulatedSLM: true response, bit depth, fringing, fill factor, modes -- analytic checks."""

from __future__ import annotations

import numpy as np
import pytest

from devices.interface.errors import InvalidPattern
from devices.simulated.slm import SimulatedSLM
from devices.simulated.slm_response import apply_fringing, draw_curve, gamma_phase_curve


def test_uniform_levels_follow_the_gamma_phase_curve():
    slm = SimulatedSLM(shape=(8, 8), bit_depth=8, phase_range=1.9 * np.pi, gamma=1.6)
    for g in (0, 37, 128, 255):
        slm.display(np.full((8, 8), g))
        expected = np.exp(1j * 1.9 * np.pi * (g / 255) ** 1.6)
        np.testing.assert_allclose(slm.field(), expected, atol=1e-12)


def test_default_phase_range_is_not_two_pi_and_believed_lut_is_separate():
    slm = SimulatedSLM(shape=(4, 4))
    assert slm.truth()["response"][-1] == pytest.approx(2 * np.pi * 1.05)
    assert slm.lut is None
    slm.lut = 2 * np.pi * np.arange(256) / 256  # a spec sheet's linear 0 .. 2 pi (1 - 1/L)
    assert slm.lut[-1] != slm.truth()["response"][-1]


def test_ten_bit_slm_resolves_1024_levels():
    slm = SimulatedSLM(shape=(2, 1024), bit_depth=10, phase_range=2 * np.pi)
    ramp = np.tile(np.arange(1024), (2, 1))
    slm.display(ramp)
    phase = np.unwrap(np.angle(slm.field()[0]))
    np.testing.assert_allclose(np.diff(phase), 2 * np.pi / 1023, rtol=1e-9)
    with pytest.raises(InvalidPattern):
        slm.display(ramp + 1)


def test_fringing_mixes_neighbours_by_the_coupling():
    c = 0.1
    slm = SimulatedSLM(shape=(6, 8), phase_range=2 * np.pi, fringing=c)
    stripes = np.tile([0, 255], (6, 4))
    slm.display(stripes)
    phase = np.angle(slm.field())
    hi = 2 * np.pi
    # interior column of level 0 sees two neighbours at 2 pi: (1-2c)*0 + 2c*2pi
    assert phase[3, 2] == pytest.approx(np.angle(np.exp(1j * 2 * c * hi)))
    assert phase[3, 3] == pytest.approx(np.angle(np.exp(1j * (1 - 2 * c) * hi)))
    slm.display(np.full((6, 8), 100))  # a uniform pattern is untouched
    np.testing.assert_allclose(slm.field(), np.exp(1j * 2 * np.pi * 100 / 255))


def test_fringing_kernel_matches_direct_convolution():
    from scipy.ndimage import convolve

    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 11))
    c = 0.07
    k1 = np.array([c, 1 - 2 * c, c])
    ref = convolve(x, np.outer(k1, k1), mode="nearest")
    np.testing.assert_allclose(apply_fringing(x, c), ref, atol=1e-12)


def test_fill_factor_mixes_in_unmodulated_gap_light():
    slm = SimulatedSLM(shape=(4, 4), phase_range=2 * np.pi, fill_factor=0.9)
    slm.display(np.full((4, 4), 64))
    expected = 0.9 * np.exp(1j * 2 * np.pi * 64 / 255) + 0.1
    np.testing.assert_allclose(slm.field(), expected)
    np.testing.assert_allclose(slm.field(fill_factor=False), np.exp(1j * 2 * np.pi * 64 / 255))


def test_amplitude_mode_is_real_bounded_and_monotonic():
    slm = SimulatedSLM(shape=(1, 256), modulation="amplitude", gamma=2.2, amplitude_min=0.02)
    slm.display(np.arange(256)[None])
    f = slm.field()
    assert np.all(f.imag == 0)
    a = f.real[0]
    assert a[0] == pytest.approx(0.02) and a[-1] == pytest.approx(1.0)
    assert np.all(np.diff(a) > 0)


def test_binary_mode_has_two_states_and_dark_gaps():
    slm = SimulatedSLM(
        shape=(4, 4), bit_depth=1, modulation="binary", amplitude_min=0.01, fill_factor=0.92
    )
    slm.display(np.eye(4, dtype=np.uint8))
    f = slm.field()
    assert set(np.round(f.real.ravel(), 12)) == {0.92 * 0.01, 0.92}
    with pytest.raises(InvalidPattern):
        slm.display(np.full((4, 4), 2))


def test_field_cache_follows_display():
    slm = SimulatedSLM(shape=(4, 4))
    slm.display(np.zeros((4, 4)))
    a = slm.field()
    v = slm.version
    slm.display(np.full((4, 4), 200))
    assert slm.version == v + 1 and not np.allclose(slm.field(), a)


def test_drawn_curves_are_reproducible_and_not_two_pi():
    c1, p1 = draw_curve(np.random.default_rng(4), 256, "phase")
    c2, _ = draw_curve(np.random.default_rng(4), 256, "phase")
    np.testing.assert_array_equal(c1, c2)
    assert 2 * np.pi * 0.95 <= p1["phase_range"] <= 2 * np.pi * 1.1
    assert p1["phase_range"] != 2 * np.pi
    nominal, _ = draw_curve(np.random.default_rng(4), 256, "phase", 0, 0, phase_range=6.0)
    np.testing.assert_allclose(nominal, np.linspace(0, 6.0, 256))
    amp, pa = draw_curve(np.random.default_rng(4), 256, "amplitude", 0.1, 0.2)
    assert 0 <= pa["minimum"] <= 0.05 and amp[-1] == 1.0
    np.testing.assert_allclose(gamma_phase_curve(3, np.pi, 2.0), [0, np.pi / 4, np.pi])


def test_bad_construction_is_named():
    with pytest.raises(ValueError, match="fill_factor"):
        SimulatedSLM(shape=(2, 2), fill_factor=0)
    with pytest.raises(ValueError, match="response"):
        SimulatedSLM(shape=(2, 2), response=np.zeros(3))
    with pytest.raises(ValueError, match="fringing"):
        SimulatedSLM(shape=(2, 2), fringing=0.5)
