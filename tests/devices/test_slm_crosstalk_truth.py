"""A simulated SLM's true crosstalk differs from the profile's nominal fringing in size and in
form (drawn from the bench seed: coupling, asymmetry, second neighbours, voltage or phase
domain); the draw comes after every earlier one, so the other hidden values keep their seed."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import ndimage

from devices.config import BenchConfigError, load_bench
from devices.simulated.slm import SimulatedSLM
from devices.simulated.slm_response import draw_crosstalk
from fouroptics.optics.pixels import fringing_kernel

BENCHES = Path(__file__).resolve().parents[2] / "examples" / "benches"


def _noisy() -> dict:
    return yaml.safe_load((BENCHES / "misaligned_noisy.yaml").read_text())


def _load(cfg: dict):
    return load_bench(copy.deepcopy(cfg) | {"system": cfg["system"]})


def test_zero_spreads_draw_the_nominal_kernel() -> None:
    kernel, domain, _ = draw_crosstalk(np.random.default_rng(0), 0.05)
    np.testing.assert_allclose(kernel, fringing_kernel(0.05), atol=1e-15)
    assert domain == "phase"


def test_drawn_kernels_differ_in_size_and_form() -> None:
    rng = np.random.default_rng(1)
    draws = [draw_crosstalk(rng, 0.05, 0.3, 0.4, 0.6, "random") for _ in range(40)]
    for kernel, _, _ in draws:
        assert kernel.shape == (5, 5) and kernel.sum() == pytest.approx(1.0)
        assert kernel.min() >= 0
    rows = np.array([k.sum(axis=1) for k, _, _ in draws])
    assert np.std(rows[:, 1] + rows[:, 3]) > 0.01  # size
    assert np.mean(np.abs(rows[:, 1] - rows[:, 3])) > 0.005  # left/right
    assert np.all(rows[:, 0] > 0) and np.any(rows[:, 0] > 0.01)  # second neighbours
    assert {d for _, d, _ in draws} == {"phase", "voltage"}


def test_misaligned_bench_draws_its_crosstalk_after_the_other_hidden_values() -> None:
    cfg = _noisy()
    with _load(cfg) as bench:
        truth = bench.truth()
    plain = copy.deepcopy(cfg)
    del plain["imperfections"]["crosstalk"]
    with _load(plain) as bench:
        before = bench.truth()
    for role in ("fourier_slm", "input_slm"):
        np.testing.assert_array_equal(truth[role]["response"], before[role]["response"])
        np.testing.assert_allclose(before[role]["crosstalk"]["kernel"], fringing_kernel(0.05))
    k = truth["fourier_slm"]["crosstalk"]["kernel"]
    assert k.shape == (5, 5) and not np.allclose(k[1:-1, 1:-1], fringing_kernel(0.05))
    assert truth["fourier_slm"]["crosstalk"]["domain"] in ("phase", "voltage")
    # the input SLM keeps the profile's fringing (nothing measures it yet)
    np.testing.assert_allclose(truth["input_slm"]["crosstalk"]["kernel"], fringing_kernel(0.05))
    assert truth["camera"]["gain"] == before["camera"]["gain"]


def test_simulated_slm_realises_its_kernel_in_its_domain() -> None:
    """Fields against an independent evaluation: scipy's convolution, np.interp for the LUT."""
    kernel, _, _ = draw_crosstalk(np.random.default_rng(2), 0.05, 0.3, 0.4, 0.6)
    curve = 6.6 * (np.arange(256) / 255) ** 1.3
    lv = np.random.default_rng(3).integers(0, 256, (2, 9, 7))
    for domain in ("phase", "voltage"):
        slm = SimulatedSLM(
            (9, 7), response=curve, fringing=0.05, crosstalk=kernel, crosstalk_domain=domain
        )
        if domain == "phase":
            phase = np.stack([ndimage.convolve(curve[im], kernel, mode="nearest") for im in lv])
        else:
            drive = np.stack([ndimage.convolve(im * 1.0, kernel, mode="nearest") for im in lv])
            phase = np.interp(drive, np.arange(256), curve)
        np.testing.assert_allclose(slm.fields(lv), np.exp(1j * phase), atol=1e-12)
        assert slm.level_table() is None
        assert slm.truth()["crosstalk"]["domain"] == domain


@pytest.mark.parametrize(
    "section, field",
    [
        ({"spread": -0.1}, "bench.imperfections.crosstalk.spread"),
        ({"width": 1.5}, "bench.imperfections.crosstalk.width"),
        ({"domain": "current"}, "bench.imperfections.crosstalk.domain"),
        ({"size": 0.1}, "bench.imperfections.crosstalk: unknown"),
        ("big", "bench.imperfections.crosstalk"),
    ],
)
def test_bad_crosstalk_fields_are_named(section, field) -> None:
    cfg = _noisy()
    cfg["imperfections"]["crosstalk"] = section
    with pytest.raises(BenchConfigError, match=field.replace(".", r"\.")) as err:
        _load(cfg)
    assert "\n" not in str(err.value)
