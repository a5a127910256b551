"""The hardware estimate against a hand count on a tiny model: rates, MACs (optical, readout,
head, the SCLC by FFT, the teacher) and photons per MAC."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from torch import nn

from devices.run.estimate import hardware_estimate
from fouroptics.nn.macs import count_macs, sclc_fft_macs

RATES = {
    "input_slm": {"hz": 60.0, "source": "test"},
    "fourier_slm": {"hz": 60.0, "source": "test"},
    "camera": {"hz": 100.0, "source": "test"},
}


def tiny_bundle() -> SimpleNamespace:
    """2 optical channels from 1 input channel, period 8, 4 x 4 outputs, windows of 10 camera
    pixels, 2 frames; head Linear(2 * 4 * 4 -> 10)."""
    head = nn.Sequential(nn.Flatten(), nn.Linear(32, 10))
    meta = {"optical_channels": 2, "period": 8, "output_size": 4}
    arrays = {
        "window_offsets": np.arange(-5, 5),
        "t_out": np.arange(4.0),
        "channel_frame": np.array([0, 1]),
    }
    return SimpleNamespace(
        n_frames=2, meta=meta, arrays=arrays, image_shape=(1, 8, 8), detection="intensity",
        head_state={"any": 1}, head_macs=lambda: count_macs(head, (2, 4, 4)),
        digital_macs=lambda: count_macs(head, (2, 4, 4)) + sclc_fft_macs(1, 2, 8, 4),
    )  # fmt: skip


def test_estimate_matches_a_hand_count():
    est = hardware_estimate(tiny_bundle(), rates=RATES, exposure=1e-3, teacher_macs=12345)
    # frames/s: the slower of the input SLM (60 Hz), the camera (100 Hz), 1 / exposure (1000)
    assert est["frames_per_s"] == 60.0
    assert est["inferences_per_s"] == 30.0
    assert math.isclose(est["latency_s"], 2 * (1 / 60 + 1 / 100))
    # a direct convolution: 2 x 1 channels, 4 x 4 outputs, an 8 x 8 kernel each
    assert est["optical_macs_per_inference"] == 2 * 1 * 16 * 64
    assert est["optical_macs_per_s"] == 2048 * 30
    # the window readout per channel: n w^2 + n^2 w = 4 * 100 + 16 * 10
    assert est["electronic_readout_macs"] == 2 * (400 + 160)
    assert est["electronic_head_macs"] == 320  # Linear(32 -> 10)
    assert est["electronic_macs_per_inference"] == 1120 + 320
    # by FFT: 5 N^2 log2 N = 960 per FFT, one per input and per optical channel, and a
    # complex MAC (4) per kept frequency and channel pair
    assert sclc_fft_macs(1, 2, 8, 4) == 960 + 2 * 960 + 4 * 2 * 16
    assert est["digital_sclc_macs"] == 320 + 3008
    assert est["digital_teacher_macs"] == 12345
    assert math.isclose(est["electronic_over_digital_sclc"], 1440 / 3328)
    assert est["photons_per_inference"] is None and est["photons_per_optical_mac"] is None


def test_estimate_takes_the_runs_readout_and_photons():
    stats = SimpleNamespace(readout_macs=64, readout="filter", photons_per_image=2.048e6)
    est = hardware_estimate(tiny_bundle(), rates=RATES, exposure=0.02, stats=stats)
    assert est["frames_per_s"] == 50.0  # the 20 ms exposure is the slowest
    assert est["electronic_readout_macs"] == 64 and est["electronic_readout"] == "filter"
    assert est["electronic_macs_per_inference"] == 64 + 320
    assert math.isclose(est["photons_per_optical_mac"], 1000.0)
