"""The Fourier-path wavefront basis (fouroptics/optics/zernike.py) against analytic values:
the polar forms R_n^m(r) cos/sin(m theta), orthogonality and rms over the unit disk by
quadrature (scipy), and the SLM-grid helper's centring."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from fouroptics.optics import zernike as z

#: (n, m, radial polynomial, angular factor) of each named term, in polar form
POLAR = {
    "defocus": (2, 0, lambda r: 2 * r**2 - 1, lambda t: 1.0),
    "astig_0": (2, 2, lambda r: r**2, lambda t: np.cos(2 * t)),
    "astig_45": (2, 2, lambda r: r**2, lambda t: np.sin(2 * t)),
    "coma_x": (3, 1, lambda r: 3 * r**3 - 2 * r, lambda t: np.cos(t)),
    "coma_y": (3, 1, lambda r: 3 * r**3 - 2 * r, lambda t: np.sin(t)),
    "spherical": (4, 0, lambda r: 6 * r**4 - 6 * r**2 + 1, lambda t: 1.0),
    "trefoil_0": (3, 3, lambda r: r**3, lambda t: np.cos(3 * t)),
    "trefoil_30": (3, 3, lambda r: r**3, lambda t: np.sin(3 * t)),
}


def test_terms_match_their_polar_forms() -> None:
    rng = np.random.default_rng(0)
    r, t = rng.uniform(0, 1.4, 50), rng.uniform(0, 2 * np.pi, 50)
    y, x = r * np.sin(t), r * np.cos(t)
    for name, (_, _, radial, angular) in POLAR.items():
        np.testing.assert_allclose(z.term(name, y, x), radial(r) * angular(t), atol=1e-12)


def _disk_mean(f) -> float:
    val, _ = integrate.dblquad(lambda r, t: f(r * np.sin(t), r * np.cos(t)) * r, 0, 2 * np.pi, 0, 1)
    return val / np.pi


def test_terms_are_orthogonal_over_the_unit_disk_with_the_stated_rms() -> None:
    names = z.TERMS
    gram = np.array(
        [[_disk_mean(lambda y, x, a=a, b=b: z.term(a, y, x) * z.term(b, y, x)) for b in names]
         for a in names]
    )  # fmt: skip
    rms = np.sqrt(np.diag(gram))
    np.testing.assert_allclose(rms, [z.DISK_RMS[n] for n in names], rtol=1e-6)
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-8)
    for name in names:  # zero mean: no piston in any term
        assert abs(_disk_mean(lambda y, x, n=name: z.term(n, y, x))) < 1e-8


def test_wavefront_is_the_weighted_sum_and_keeps_the_low_order_convention() -> None:
    y, x = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 5), indexing="ij")
    a_d, a_0, a_45 = 0.3, -0.2, 0.1
    old = a_d * (2 * (x**2 + y**2) - 1) + a_0 * (x**2 - y**2) + a_45 * 2 * x * y
    np.testing.assert_allclose(z.wavefront((a_d, a_0, a_45), y, x), old, atol=1e-12)
    coef = {"coma_x": 0.4, "trefoil_30": -0.7}
    want = 0.4 * (3 * (x**2 + y**2) - 2) * x - 0.7 * (3 * x**2 * y - y**3)
    np.testing.assert_allclose(z.wavefront(coef, y, x), want, atol=1e-12)
    with pytest.raises(ValueError, match="zernike term"):
        z.wavefront({"tilt": 1.0}, y, x)


def test_slm_wavefront_is_centred_on_the_given_pixel() -> None:
    coef = {"defocus": 1.0, "coma_y": 0.5}
    w = z.slm_wavefront(coef, (64, 48), (30.25, 20.5), 24.0)
    assert w.shape == (64, 48)
    # pixel (r, c) sits at ((r - 30.25) / 24, (c - 20.5) / 24)
    for r, c in ((0, 0), (30, 20), (63, 47)):
        yy, xx = (r - 30.25) / 24, (c - 20.5) / 24
        assert w[r, c] == pytest.approx(
            (2 * (yy**2 + xx**2) - 1) + 0.5 * (3 * (yy**2 + xx**2) - 2) * yy
        )
    section = {"terms": ["defocus", "coma_y"], "coefficients": [1.0, 0.5],
               "centre_px": [30.25, 20.5], "radius_px": 24.0}  # fmt: skip
    np.testing.assert_allclose(z.aberration_phase(section, (64, 48)), w)
