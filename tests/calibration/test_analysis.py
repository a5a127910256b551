"""The calibration analyses on analytic data: quadrature phase, inverse LUTs, spot centres,
affine and similarity fits, split-power zero crossings, Gaussian beam fits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from calibration.fourier import fit_similarity, zero_crossing
from calibration.lut import inverse_amplitude_lut, inverse_phase_lut, quadrature_phase
from calibration.registration import fit_affine, fit_gaussian_beam, spot_centre


@pytest.mark.parametrize("theta, gamma, span", [(0.0, 0.8, 6.9), (0.7, 1.3, 6.4), (-2.0, 1.0, 7.3)])
def test_quadrature_recovers_a_phase_curve_beyond_two_pi(theta, gamma, span):
    rng = np.random.default_rng(0)
    g = np.arange(0, 256, 4)
    phi = span * (g / 255.0) ** gamma
    q = int(np.argmin(np.abs(phi - np.pi / 2)))
    p0 = 3.0 + 2.0 * np.cos(phi - theta) + 1e-4 * rng.standard_normal(len(g))
    pq = 2.5 + 1.5 * np.cos(phi - phi[q] - theta) + 1e-4 * rng.standard_normal(len(g))
    est, params = quadrature_phase(p0, pq)
    np.testing.assert_allclose(est, phi - phi[0], atol=2e-3)
    assert params["amplitude0"] == pytest.approx(2.0, rel=1e-3)


def test_inverse_luts_of_ideal_curves_are_the_identity():
    n = 256
    np.testing.assert_array_equal(inverse_phase_lut(2 * np.pi * np.arange(n) / n), np.arange(n))
    np.testing.assert_array_equal(inverse_amplitude_lut(np.arange(n) / (n - 1)), np.arange(n))
    # a curve spanning more than 2 pi: every target is met within half a level step
    curve = 7.0 * (np.arange(n) / (n - 1)) ** 1.2
    inv = inverse_phase_lut(curve)
    err = np.angle(np.exp(1j * (curve[inv] - 2 * np.pi * np.arange(n) / n)))
    assert np.abs(err).max() <= np.diff(curve).max() / 2 + 1e-12


@pytest.mark.parametrize("y0, x0", [(20.3, 17.8), (19.5, 21.25), (22.0, 18.0)])
def test_spot_centre_of_a_sampled_airy_like_spot(y0, x0):
    yy, xx = np.mgrid[:40, :40].astype(float)
    spot = np.sinc((yy - y0) / 2.5) ** 2 * np.sinc((xx - x0) / 2.5) ** 2
    cy, cx = spot_centre(spot, (round(y0), round(x0)), sigma=2.0)
    assert (cy, cx) == pytest.approx((y0, x0), abs=0.01)


def test_affine_fit_is_exact_on_an_affine_map():
    rng = np.random.default_rng(1)
    m = np.array([[-1.36, 0.02, 300.0], [-0.015, -1.37, 290.0]])
    src = rng.uniform(0, 256, (30, 2))
    dst = src @ m[:, :2].T + m[:, 2]
    fit, res = fit_affine(src, dst)
    np.testing.assert_allclose(fit, m, atol=1e-9)
    assert np.abs(res).max() < 1e-9


def test_zero_crossing_of_a_split_gaussian_is_its_centre():
    x0, sigma = 3.37, 4.7
    c = np.arange(-2, 4) - 0.5
    d = erf((c - x0 + 3) / (np.sqrt(2) * sigma))  # F_A - F_B for boundaries near x0 - 3
    assert zero_crossing(c, d) == pytest.approx(x0 - 3, abs=1e-3)


def test_similarity_fit_recovers_centre_scale_and_rotation():
    g = 124.7
    nominal = np.array([(0, 0), (0, g), (0, -g), (g, 0), (-g, 0)], float)
    th, s, c = 0.01, 1.003, np.array([255.4, 256.2])
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    measured = c + s * nominal @ rot.T
    centre, scale, theta, res = fit_similarity(nominal, measured)
    np.testing.assert_allclose(centre, c, atol=1e-9)
    assert (scale, theta) == pytest.approx((s, th), abs=1e-12)
    assert np.abs(res).max() < 1e-9


def test_gaussian_beam_fit_sees_through_the_slm_edge():
    yy, xx = np.mgrid[:128, :128].astype(float)
    w, cy, cx = 95.0, 80.0, 58.0  # wider than the SLM and off centre: truncated
    profile = np.exp(-2 * ((yy - cy) ** 2 + (xx - cx) ** 2) / w**2)
    (fy, fx), fw = fit_gaussian_beam(profile / profile.max())
    assert (fy, fx, fw) == pytest.approx((cy, cx, w), rel=1e-6)
