"""Laser relative intensity noise per exposure: its statistics against its setting, frame by
frame and batched; the bench YAML's ``laser: rin:``."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest

from devices.config import BenchConfigError, load_bench
from devices.simulated.bench import SimulatedBench
from devices.simulated.temporal import LaserNoise
from tests.calibration.conftest import SMALL
from tests.devices.test_simulated_bench import small_bench

RIN = 0.02


def _rin_bench() -> SimulatedBench:
    b = small_bench()
    return SimulatedBench(
        b.system, b.input_slm, b.fourier_slm, b.camera, laser_power=b.laser_power,
        laser_noise=LaserNoise(RIN, np.random.default_rng(5)),
    )  # fmt: skip


def test_rin_per_exposure_frame_by_frame():
    bench = _rin_bench()
    bench.input_slm.display(np.full(bench.input_slm.shape, bench.input_slm.levels - 1))
    sums = np.array([bench.camera.capture(1).sum() for _ in range(400)], dtype=np.float64)
    rel = sums.std() / sums.mean()
    assert rel == pytest.approx(RIN, rel=0.12)  # 400 draws: 3.5 % rms on the estimate
    quiet = small_bench()  # the same captures without RIN: the camera's noise alone
    quiet.input_slm.display(np.full(quiet.input_slm.shape, quiet.input_slm.levels - 1))
    base = np.array([quiet.camera.capture(1).sum() for _ in range(50)], dtype=np.float64)
    assert base.std() / base.mean() < RIN / 10
    assert bench.truth()["laser_rin"] == RIN


def test_rin_in_the_batched_capture():
    bench = _rin_bench()
    bundle = SimpleNamespace(fourier_levels=np.zeros((1, *bench.fourier_slm.shape), int),
                             fourier_masks=None)  # fmt: skip
    levels = np.full((300, *bench.input_slm.shape), bench.input_slm.levels - 1)
    frames = bench.capture_bundle(bundle, levels, rng=np.random.default_rng(0))
    assert frames.max() < bench.camera.max_value  # unsaturated
    sums = frames.sum(axis=(2, 3))[:, 0]
    assert sums.std() / sums.mean() == pytest.approx(RIN, rel=0.15)
    mean = bench.capture_bundle(bundle, levels[:3], noise=False).sum(axis=(2, 3))
    assert np.ptp(mean) == 0  # the mean frames carry no RIN


def test_rin_from_the_bench_yaml():
    cfg = copy.deepcopy(SMALL)
    cfg["laser"]["rin"] = "0.5 %"
    with load_bench(cfg) as bench:
        assert bench.laser_noise.rin == pytest.approx(0.005)
    with load_bench(copy.deepcopy(SMALL)) as bench:  # off by default
        assert bench.laser_noise is None
    cfg["laser"]["rin"] = -0.1
    with pytest.raises(BenchConfigError, match="bench.laser.rin"):
        load_bench(cfg)
