"""Routines that cannot succeed say what to fix and write nothing; the CalibrationSet file
round-trips, is refused on another bench and warns when the bench YAML changed."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest
import yaml

from calibration.calset import CalibrationSet
from calibration.errors import CalibrationError, CalibrationWarning
from calibration.fingerprint import yaml_fingerprint
from calibration.session import Session
from devices.config import load_bench
from fouroptics.cli import main
from fouroptics.errors import ConfigError, FileFormatError, FouropticsError
from fouroptics.io.digest import file_sha256


@pytest.fixture
def make_bench(small_bench_config):
    def make(**laser):
        small_bench_config["laser"].update(laser)
        return load_bench(small_bench_config)

    return make


def test_no_light_is_a_calibration_error(make_bench):
    bench = make_bench()
    bench.laser_on = False
    session = Session(bench)
    session.display(np.full(session.input_shape, 255), np.zeros(session.fourier_shape, int))
    with pytest.raises(CalibrationError, match="no light reaches the camera"):
        session.auto_expose()
    assert issubclass(CalibrationError, FouropticsError)


def test_saturated_camera_is_a_calibration_error(make_bench):
    session = Session(make_bench(power="10 W"))
    session.display(np.full(session.input_shape, 255), np.zeros(session.fourier_shape, int))
    with pytest.raises(CalibrationError, match="saturates at its shortest exposure.*attenuate"):
        session.auto_expose()


def test_exposure_out_of_range_and_pattern_too_large(make_bench):
    session = Session(make_bench())
    with pytest.raises(CalibrationError, match=r"outside the camera's \[.*\] s"):
        session.set_exposure(1e3)
    with pytest.raises(CalibrationError, match="does not fit the input_slm"):
        session.display(np.zeros((300, 300), int))


def test_a_bench_without_a_shutter_cannot_take_dark_frames():
    class NoShutter:
        name = "hw"

    session = Session(NoShutter())
    with pytest.raises(CalibrationError, match="laser_on"), session.dark():
        pass


def test_cli_error_is_one_line_and_leaves_nothing(small_bench_yaml, tmp_path, capsys):
    cfg = yaml.safe_load(small_bench_yaml.read_text())
    cfg["laser"]["power"] = "10 W"
    small_bench_yaml.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "cal"
    argv = ["calibrate", "--bench", str(small_bench_yaml), "--out", str(out), "--no-progress"]
    assert main([*argv, "--only", "camera"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "calibrate: error:" in err[0] and "attenuate" in err[0]
    assert not out.exists() or not any(out.iterdir())
    assert main([*argv, "--only", "camera,focus"]) == 2
    assert "unknown routine(s) ['focus']" in capsys.readouterr().err


def test_calibration_file_round_trips_and_is_refused_on_another_bench(small_bench_yaml, tmp_path):
    luts = {
        "fourier_slm": {
            "modulation": "phase",
            "curve": np.linspace(0, 7, 256),
            "inverse": np.arange(256, dtype=np.int32),
        }
    }
    cal = CalibrationSet(
        bench_name="small_noisy",
        bench_path=str(small_bench_yaml),
        bench_sha256=file_sha256(small_bench_yaml),
        sections={
            "lut": luts,
            "registration": {
                "affine": np.eye(2, 3),
                "residual_px": 0.01,
                "beam_profile": np.ones((4, 4), np.float32),
            },
            "fourier": {"centre_px": [127.6, 128.3], "scale": 1.002, "rotation_rad": 0.0},
        },
        frames={"lut.fourier_slm": {"displayed": 3, "captured": 4}},
        fingerprint=yaml_fingerprint(small_bench_yaml),
    )
    path = cal.save(tmp_path / "calibration.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = CalibrationSet.load(path, bench=small_bench_yaml)  # same bench: no warning
    np.testing.assert_array_equal(back.inverse_lut("fourier_slm"), np.arange(256))
    assert back.registration.shape == (2, 3)
    assert back.fourier == {"centre_px": (127.6, 128.3), "scale": 1.002, "rotation_rad": 0.0}
    assert back.frames == cal.frames
    assert back.fingerprint == cal.fingerprint and back.fingerprint["seed"] == 7
    with pytest.raises(FileFormatError, match="no 'camera' section"):
        _ = back.camera_gain
    with pytest.raises(FileFormatError, match="no LUT for 'input_slm'"):
        back.inverse_lut("input_slm")

    other = tmp_path / "other.yaml"
    cfg = yaml.safe_load(small_bench_yaml.read_text())
    other.write_text(yaml.safe_dump({**cfg, "name": "other_bench"}))
    with pytest.raises(
        ConfigError, match="measured on bench 'small_noisy' seed 7, not on bench 'other_bench'"
    ):
        CalibrationSet.load(path, bench=other)

    small_bench_yaml.write_text(small_bench_yaml.read_text() + "\n# realigned\n")
    later = time.time() + 5
    os.utime(small_bench_yaml, (later, later))
    with pytest.warns(CalibrationWarning, match="older than the bench YAML"):
        CalibrationSet.load(path, bench=small_bench_yaml)


def test_empty_only_and_negative_threads_are_refused(small_bench_yaml, tmp_path, capsys):
    from fouroptics.cli import main

    for extra, says in ((["--only", ""], "--only"), (["--threads", "-2"], "--threads")):
        out = tmp_path / f"out{len(extra[1])}"
        assert main(["calibrate", "--bench", str(small_bench_yaml), "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
        assert not (out / "calibration.h5").exists()
