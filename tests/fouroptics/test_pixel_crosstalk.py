"""The one home of pixel crosstalk (fouroptics.optics.pixels): a general small kernel against
scipy.ndimage, its adjoint by the dot-product test, the nearest-neighbour fringing as its special
case, the voltage domain against np.interp, and the refinement's gradient through an asymmetric
kernel in both domains against torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from fouroptics.compiler.refine import DriveModel, objective
from fouroptics.optics.pixels import (
    axis_kernel,
    check_kernel,
    crosstalk,
    crosstalk_response,
    fringing,
    fringing_kernel,
)

RNG = np.random.default_rng(4)
KERNELS = {
    "asymmetric 5x5": np.outer(axis_kernel(0.06, 0.02, 0.4), axis_kernel(0.01, 0.07, 0.3)),
    "non-separable 5x3": (lambda k: k / k.sum())(RNG.random((5, 3))),
    "7x7": np.outer(axis_kernel(0.05, 0.04, 0.5, 7), axis_kernel(0.03, 0.05, 0.2, 7)),
    "fringing": fringing_kernel(0.05),
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_crosstalk_is_scipy_convolve_and_its_adjoint_the_transpose(name) -> None:
    k = KERNELS[name]
    x = RNG.standard_normal((3, 11, 9))
    ref = np.stack([ndimage.convolve(im, k, mode="nearest") for im in x])
    np.testing.assert_allclose(crosstalk(x, k), ref, atol=1e-12)
    y = RNG.standard_normal(x.shape)
    cor = np.stack([ndimage.correlate(im, k, mode="nearest") for im in y])
    np.testing.assert_allclose(crosstalk(y, k, adjoint=True)[:, 3:-3, 3:-3], cor[:, 3:-3, 3:-3])
    # everywhere, borders included: <K x, y> = <x, K^T y>
    assert np.isclose(np.vdot(crosstalk(x, k), y), np.vdot(x, crosstalk(y, k, adjoint=True)))
    assert crosstalk(x.astype(np.float32), k).dtype == np.float32
    assert crosstalk(x.astype(np.float32), k, adjoint=True).dtype == np.float32


def test_fringing_is_the_nearest_neighbour_kernel() -> None:
    x = RNG.standard_normal((2, 7, 6))
    c = 0.05
    w = np.array([c, 1 - 2 * c, c])
    np.testing.assert_allclose(fringing_kernel(c), np.outer(w, w))
    np.testing.assert_allclose(fringing(x, c), crosstalk(x, fringing_kernel(c)), atol=1e-14)
    np.testing.assert_allclose(axis_kernel(c, c, taps=3), w)
    assert axis_kernel(0.05, 0.03, 0.5).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="crosstalk kernel: shape"):
        check_kernel(np.ones((4, 4)) / 16)
    with pytest.raises(ValueError, match="sum"):
        check_kernel(np.ones((3, 3)))


def test_voltage_domain_mixes_the_drive_before_the_lut() -> None:
    """phase = LUT(K * level), the LUT linear between levels (np.interp), against
    phase = K * LUT(level)."""
    curve = 6.6 * (np.arange(256) / 255) ** 1.4
    lv = RNG.integers(0, 256, (2, 8, 9))
    k = KERNELS["asymmetric 5x5"]
    mixed = np.stack([ndimage.convolve(im.astype(float), k, mode="nearest") for im in lv])
    want = np.interp(mixed, np.arange(256), curve)
    np.testing.assert_allclose(crosstalk_response(lv, curve, k, "voltage"), want, atol=1e-12)
    phase = np.stack([ndimage.convolve(curve[im], k, mode="nearest") for im in lv])
    np.testing.assert_allclose(crosstalk_response(lv, curve, k, "phase"), phase, atol=1e-12)
    np.testing.assert_allclose(crosstalk_response(lv, curve, None), curve[lv])


@pytest.mark.parametrize(
    ("domain", "by_level"), [("phase", False), ("voltage", False), ("phase", True)]
)
def test_refinement_gradient_through_an_asymmetric_kernel(domain, by_level) -> None:
    """The analytic gradient against torch's autograd of an independent chain; ``by_level``:
    the phase domain driven by the level (the hedge's shared drive), the LUT interpolated
    before the phase is mixed."""
    torch = pytest.importorskip("torch")
    f, h, w = 2, 10, 9
    curve = 6.6 * (np.arange(256) / 255) ** 1.4
    k = KERNELS["asymmetric 5x5"]
    model = DriveModel(k, domain, curve, float(curve[-1] / 255), by_level=by_level)
    d = RNG.uniform(0.3, 6.2, (f, h, w)).astype(np.float32)
    region = RNG.random((f, h, w)) < 0.5
    weight = RNG.random((h, w)).astype(np.float32)
    m = RNG.standard_normal((f, h, w)) + 1j * RNG.standard_normal((f, h, w))
    wanted = np.fft.ifft2(np.fft.fft2(m) * region).astype(np.complex64)
    fid, _, grad = objective(d, wanted, weight, region, model)

    dt = torch.tensor(d, dtype=torch.float64, requires_grad=True)
    kt = torch.tensor(k, dtype=torch.float64)
    c = torch.tensor(curve, dtype=torch.float64)

    def lut(v):  # the curve linear between levels
        i = v.detach().clamp(0, 254).floor().long()
        return c[i] + (v - i) * (c[i + 1] - c[i])

    if domain == "voltage":
        x = dt / model.step
    elif by_level:
        x = lut(dt / model.step)
    else:
        x = dt
    pad = torch.nn.functional.pad(x[None], (2, 2, 2, 2), mode="replicate")[0]
    mixed = sum(
        kt[a, b] * pad[:, 4 - a : 4 - a + h, 4 - b : 4 - b + w] for a in range(5) for b in range(5)
    )
    if domain == "voltage":
        r = lut(mixed)
    else:
        r = mixed
    a = torch.fft.ifft2(torch.fft.fft2(torch.exp(1j * r)) * torch.tensor(region))
    b = torch.tensor(wanted, dtype=torch.complex128)
    wt = torch.tensor(weight, dtype=torch.float64)
    s = (wt * b.conj() * a).sum(dim=(1, 2))
    a2 = (wt * a.abs() ** 2).sum(dim=(1, 2))
    b2 = (wt * b.abs() ** 2).sum(dim=(1, 2))
    fid_t = s.abs() ** 2 / (a2 * b2)
    (1 - fid_t).sum().backward()
    np.testing.assert_allclose(fid, fid_t.detach().numpy(), rtol=1e-4)
    np.testing.assert_allclose(grad, dt.grad.numpy(), rtol=2e-3, atol=2e-4 * np.abs(grad).max())
