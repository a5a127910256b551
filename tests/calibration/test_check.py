"""``fouroptics calibrate --check``: exit 0 on the bench it calibrated, 3 after drift (naming
what drifted), the drift it measures against the bench's hidden drift, and bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.run import calibrate
from devices.config import load_bench
from fouroptics.cli import main
from tests.calibration.conftest import BENCHES, SMALL

DRIFT = {"camera_shift": "0.5 px/h", "laser_power": "10 %/h"}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Path]:
    """The small bench with drift (a YAML) and its registration's calibration (at t = 0)."""
    folder = tmp_path_factory.mktemp("check")
    cfg = copy.deepcopy(SMALL)
    cfg["imperfections"]["drift"] = dict(DRIFT)
    bench_yaml = folder / "drifting_small.yaml"
    bench_yaml.write_text(yaml.safe_dump(cfg))
    with load_bench(bench_yaml) as bench:
        cal, _ = calibrate(bench, only=("registration",), bench_path=bench_yaml)
    return bench_yaml, cal.save(folder / "calibration.h5")


def _check(calibrated, out: Path, *extra: str) -> int:
    bench_yaml, cal = calibrated
    args = ["calibrate", "--check", "--bench", str(bench_yaml), "--calibration", str(cal)]
    return main([*args, "--out", str(out), "--threads", "1", *extra])


def test_check_passes_on_the_bench_it_calibrated(calibrated, tmp_path, capsys):
    assert _check(calibrated, tmp_path / "now") == 0
    report = json.loads((tmp_path / "now" / "check.json").read_text())
    assert report["ok"] and report["recalibrate"] == []
    assert set(report["items"]) == {"registration_px", "laser_power"}
    for item in report["items"].values():
        assert set(item) >= {"then", "now", "drift", "limit", "ok"} and item["ok"]
    assert report["frames"]["captured"] <= 50
    assert "within its limit" in capsys.readouterr().out


def test_check_after_an_hour_exits_3_and_names_the_drift(calibrated, tmp_path, capsys):
    assert _check(calibrated, tmp_path / "later", "--at", "1h") == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "registration_px drifted" in err[0] and "laser_power" in err[0]
    report = json.loads((tmp_path / "later" / "check.json").read_text())
    assert report["recalibrate"] == ["registration"]
    assert report["bench_time_s"] >= 3600
    truth = report["truth_drift"]["offsets"]
    # measured through the camera against the hidden drift (0.5 px in the hour, 10 % power)
    true_shift = float(np.hypot(*truth["camera_shift_px"]))
    assert true_shift == pytest.approx(0.5, rel=0.01)
    assert report["items"]["registration_px"]["now"] == pytest.approx(true_shift, abs=0.03)
    assert report["items"]["laser_power"]["drift"] == pytest.approx(truth["laser_power"], abs=0.01)


def test_at_on_hardware_is_one_line(tmp_path, capsys):
    hardware = str(BENCHES / "slmsuite_hardware.yaml")
    args = ["calibrate", "--check", "--bench", hardware, "--calibration", str(tmp_path / "c.h5"),
            "--at", "1h", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--at" in err[0] and "hardware" in err[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--at", "1 parsec"], "--at"), (["--at=-1h"], "--at"), (["--at", "1"], None)],
)
def test_bad_at_is_one_line(calibrated, tmp_path, capsys, extra, message):
    if message is None:  # a bare number is seconds (the option's help says so)
        assert _check(calibrated, tmp_path / "o", *extra) == 0
        return
    assert _check(calibrated, tmp_path / "o", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()
