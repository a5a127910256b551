"""A whole calibration of a small imperfect simulated bench, checked against its hidden truth
(the routines never see it: the comparison happens here, afterwards)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.calset import CalibrationSet
from calibration.run import calibrate
from devices.config import load_bench
from fouroptics.cli import main
from fouroptics.commands.calibrate import compare_with_truth


def test_small_bench_calibration_meets_the_acceptance_limits(small_bench_yaml):
    with load_bench(small_bench_yaml) as bench:
        cal, results = calibrate(bench, bench_path=small_bench_yaml)
        cmp = compare_with_truth(bench, results)
        truth = bench.truth()
    assert abs(cmp["camera"]["gain"]["error"]) < 0.03
    assert abs(cmp["camera"]["read_noise"]["error"]) < 0.10
    assert abs(cmp["camera"]["full_well"]["error"]) < 0.05
    assert cmp["lut"]["fourier_slm"]["phase_rms_error_rad"]["true"] < 0.05
    assert cmp["lut"]["input_slm"]["amplitude_rms_error"] < 0.01
    assert cmp["registration"]["residual_px"]["error"] < 0.1
    assert cmp["fourier"]["centre_error_px"]["error"] < 0.25
    assert abs(cmp["fourier"]["scale_error"]["error"]) < 0.001  # #16: 0.005 was issue 10's
    assert cmp["fourier"]["kspace_to_camera"]["error"] < 2e-3
    assert cmp["crosstalk"]["kernel"]["error"] < cmp["crosstalk"]["limit"]
    frames = sum(v["displayed"] + v["captured"] for v in cal.frames.values())
    assert frames <= 1500  # issue 16's budget for the whole calibration, crosstalk included
    # the hidden imperfections are really there: the nominal values would fail the limits
    assert np.hypot(*np.subtract(truth["fourier_centre_px"], (128, 128))) > 0.25
    nominal = 2 * np.pi * np.arange(256) / 256
    true_phase = truth["fourier_slm"]["response"] - truth["fourier_slm"]["response"][0]
    assert np.sqrt(np.mean(np.angle(np.exp(1j * (true_phase - nominal))) ** 2)) > 0.05


def test_cli_writes_the_calibration_and_the_report(small_bench_yaml, tmp_path, capsys):
    out = tmp_path / "cal"
    argv = ["calibrate", "--bench", str(small_bench_yaml), "--out", str(out)]
    assert main([*argv, "--only", "camera,registration", "--no-progress"]) == 0
    report = json.loads((out / "calibration.json").read_text())
    for key in ("gain", "read_noise", "full_well"):
        assert set(report["camera"][key]) == {"measured", "true", "error"}
    assert set(report["registration"]["residual_px"]) == {"measured", "true", "error"}
    assert report["frames"]["camera"]["captured"] > 0
    assert {p.name for p in out.iterdir()} >= {"calibration.h5", "ptc.png", "registration.png"}
    cal = CalibrationSet.load(out / "calibration.h5", bench=small_bench_yaml)
    assert cal.registration.shape == (2, 3)
    assert cal.camera_gain == pytest.approx(report["camera"]["gain"]["measured"])
    assert "calibration.h5" in capsys.readouterr().out
