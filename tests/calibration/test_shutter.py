"""Dark frames without a programmable shutter (#22): ``shutter: manual`` answered by the
simulated bench (or refused without a terminal), a driver's shutter, and ``steer``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.camera import calibrate_camera
from calibration.errors import CalibrationError
from calibration.session import Session
from calibration.shutter import dark_model
from devices.config import load_bench
from devices.config.fields import BenchConfigError

ROOT = Path(__file__).resolve().parents[2]


class CountingShutter:
    """A shutter driver for the test (``shutter: {driver: ...}``): counts its steps."""

    def __init__(self, **kw):
        self.steps: list[str] = []
        self.bench = None

    def block(self):
        self.steps.append("block")
        self.bench.laser_on = False

    def unblock(self):
        self.steps.append("unblock")
        self.bench.laser_on = True


def _bench(cfg: dict, shutter) -> object:
    cfg = dict(cfg, shutter=shutter)
    return load_bench(cfg)


def test_manual_shutter_answered_by_the_simulated_bench_once_per_routine(small_bench_config):
    with _bench(small_bench_config, "manual") as bench:
        assert bench.shutter.mode == "manual"
        session = Session(bench)
        cal = calibrate_camera(session)
        truth = bench.truth()["camera"]
    assert abs(cal.gain / truth["gain"] - 1) < 0.05
    assert abs(cal.black_level / truth["black_level"] - 1) < 0.02
    # the dark model (auto-exposure's darks) and the photon-transfer darks: two steps
    assert session.manual_steps == {"camera": 2}


def test_dark_model_matches_dark_frames_captured_at_that_exposure(small_bench_config):
    """The per-pixel linear model against dark frames taken with the laser off (auto)."""
    with _bench(small_bench_config, "manual") as bench:
        session = Session(bench)
        session.start("test")
        a, b = dark_model(session)
        bench.camera.set_exposure(0.05)
        bench.laser_on = False
        direct = np.asarray(bench.capture(16, average=True), float)
        bench.laser_on = True
    model = a + b * 0.05
    # the model's noise is a 2-frame average's at most: well under the read noise
    assert abs(model.mean() - direct.mean()) < 0.3
    assert np.corrcoef(model.ravel(), direct.ravel())[0, 1] > 0.5  # the DSNU's pattern


def test_manual_shutter_without_a_terminal_is_refused_in_one_line(small_bench_config, monkeypatch):
    with _bench(small_bench_config, "manual") as bench:
        bench.simulated = False  # as a real bench: nobody answers but the terminal
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        session = Session(bench)
        session.start("registration")
        with pytest.raises(CalibrationError, match="stdin is not a terminal") as exc:
            session.dark_frame(2)
    assert "\n" not in str(exc.value)


def test_manual_shutter_cli_without_terminal_exits_2(tmp_path):
    """A bench that is not simulated cannot be built here, so the CLI check runs the
    two_phase example with its simulated answerer switched off by a sitecustomize shim."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "from devices.simulated.bench import SimulatedBench\n"
        "del SimulatedBench.answer_manual_shutter\n"
    )
    env = {"PYTHONPATH": f"{shim}:{ROOT}", "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "fouroptics", "calibrate", "--bench",
         str(ROOT / "examples/benches/two_phase_slms.yaml"), "--out", str(tmp_path / "c"),
         "--only", "camera", "--no-progress", "--threads", "1"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a terminal" in lines[0]


def test_driver_shutter_blocks_and_unblocks(small_bench_config):
    spec = {"driver": "tests.calibration.test_shutter:CountingShutter"}
    with _bench(small_bench_config, spec) as bench:
        dev = bench.shutter.device
        dev.bench = bench
        session = Session(bench)
        session.start("x")
        with session.dark():
            assert not bench.laser_on
        assert bench.laser_on
    assert dev.steps == ["block", "unblock"]


@pytest.mark.parametrize(
    "value, words",
    [
        ("sometimes", "allowed: auto, manual, steer"),
        ({"driver": "nocolon"}, "expected 'package.module:Class'"),
        ({"driver": "json:dumps"}, "no block() and unblock()"),
        ({"drive": "x:y"}, "a shutter driver takes 'driver'"),
    ],
)
def test_bad_shutter_field_names_it(small_bench_config, value, words):
    with pytest.raises(BenchConfigError, match="bench.shutter") as exc:
        _bench(small_bench_config, value)
    assert words in str(exc.value)


def test_steer_says_how_dark_and_refuses_when_not_dark_enough(small_bench_config):
    """The small bench's Fourier SLM (fill factor 0.93) keeps a zero order, and a 3-px
    grating's first order lands 0.67 mm away, on the 1.5 mm camera: not dark."""
    with _bench(small_bench_config, "steer") as bench:
        session = Session(bench)
        session.start("registration")
        bench.display(
            np.full(bench.input_slm.shape, bench.input_slm.levels - 1),
            np.zeros(bench.fourier_slm.shape, int),
        )
        with pytest.raises(CalibrationError, match=r"shutter: steer leaves .* of the light"):
            session.dark_frame(2)
        ext = session.steer_extinction
    assert 1e-3 < ext < 1.0


def test_yaml_shutter_key_loads(tmp_path, small_bench_config):
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(dict(small_bench_config, shutter="manual")))
    with load_bench(path) as bench:
        assert bench.shutter.mode == "manual"
