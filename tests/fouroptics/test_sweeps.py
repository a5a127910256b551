"""The sweeps' summaries (fouroptics/commands/sweeps.py) on made-up points with known answers:
a temporal sweep's 1-point tolerance, the photons detected per brightest-tile photon (the floor
that does not scale with the light drops out, also when frames are averaged) and the photons
per MAC, detected against the upper bound."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fouroptics.commands.sweeps import (
    detected_per_brightest,
    detected_photons_per_mac,
    photons_per_mac,
    tolerance,
)


def _points(values, accs):
    return [{"value": v, "accuracy_mean": a} for v, a in zip(values, accs, strict=True)]


def test_tolerance_interpolates_the_first_1_point_loss():
    pts = _points([0.0, 0.1, 0.3, 0.5, 1.0], [0.980, 0.979, 0.974, 0.960, 0.70])
    # 0.970 lies 4/14 of the way from 0.974 (0.3) to 0.960 (0.5)
    assert tolerance(pts) == pytest.approx(0.3 + 0.2 * 4 / 14)
    assert tolerance(list(reversed(pts))) == pytest.approx(0.3 + 0.2 * 4 / 14)  # order-free
    assert tolerance(_points([0.0, 0.1], [0.98, 0.975])) is None
    # a noisy rise after the first loss does not move it
    pts = _points([0, 1, 2, 3], [0.98, 0.96, 0.985, 0.90])
    assert tolerance(pts) == pytest.approx(0.5)


def test_detected_per_brightest_drops_the_floor_with_averaged_frames():
    slope, floor, pixels = 37.0, 22.5 * 400, 400
    pts = []
    for v in (1.0, 10.0, 100.0, 1e3, 1e4, 1e5):
        n = max(1, int(np.ceil(v / 1284.0)))  # frames averaged above the exposure's level
        pts.append({"value": v, "frames_averaged": n, "photons_per_image": slope * v + floor * n})
    assert detected_per_brightest(pts) == pytest.approx(slope, rel=1e-9)
    assert pixels > slope  # the upper bound counts every pixel at the brightest tile's level
    assert detected_per_brightest([{"value": 1.0, "photons_per_image": None}] * 3) is None


def test_detected_photons_per_mac_is_below_the_upper_bound():
    bundle = SimpleNamespace(meta={"optical_channels": 8}, arrays={"window_offsets": range(10)})
    macs = 8 * 1 * 7**2 * 28**2  # 8 channels, 1 input channel, 7 x 7 outputs, 28 x 28 kernel
    detected = detected_photons_per_mac(300.0, 500.0, macs)
    assert detected == pytest.approx(300.0 * 500.0 / macs)
    upper = photons_per_mac(300.0, bundle, macs)  # 8 windows of 10 x 10 pixels
    assert upper == pytest.approx(300.0 * 8 * 100 / macs) and detected < upper
    assert detected_photons_per_mac(None, 500.0, macs) is None
    assert detected_photons_per_mac(300.0, None, macs) is None
