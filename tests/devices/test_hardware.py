"""Checks on a real bench: run only when FOUROPTICS_HARDWARE names a bench YAML.

FOUROPTICS_HARDWARE=examples/benches/slmsuite_simulated.yaml pytest -m hardware
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from devices.config import load_bench

pytestmark = pytest.mark.hardware

BENCH = os.environ.get("FOUROPTICS_HARDWARE")


@pytest.fixture(scope="module")
def bench():
    if not BENCH:
        pytest.skip("set FOUROPTICS_HARDWARE to a bench YAML to run hardware tests")
    b = load_bench(BENCH)
    yield b
    b.close()


def test_display_and_capture_in_true_bit_depth(bench):
    bench.display(np.zeros(bench.input_slm.shape, int), np.zeros(bench.fourier_slm.shape, int))
    frame = bench.capture()
    assert frame.shape == bench.camera.shape
    assert frame.dtype == bench.camera.dtype and int(frame.max()) <= bench.camera.max_value


def test_exposure_round_trip(bench):
    lo, hi = bench.camera.exposure_limits
    target = min(max(1e-3, lo), hi)
    assert bench.camera.set_exposure(target) == pytest.approx(target, rel=0.05)


def test_camera_survives_a_timeout(bench):
    from devices.interface.errors import DeviceTimeout

    bench.camera.exposure = min(0.05, bench.camera.exposure_limits[1])
    try:
        bench.capture(timeout=1e-4)
    except DeviceTimeout:
        pass
    assert bench.capture().shape == bench.camera.shape
