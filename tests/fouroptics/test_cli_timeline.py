"""``fouroptics simulate --timeline``: points at evenly spaced bench times on a drifting bench,
their keys, the drift's cost, recalibration by the quick check; bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from glyph_idx import write_glyph_idx

from calibration.run import calibrate
from devices.config import load_bench
from fouroptics.cli import main
from fouroptics.compiler import compile_model
from fouroptics.nn.models import build_model, sclc_config
from fouroptics.nn.train import TrainConfig, save_model
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = {
    "wavelength": "532 nm",
    "f1": "40 mm",
    "f2": "40 mm",
    "input_slm": {"shape": [128, 128], "pitch": "8 um"},
    "fourier_slm": {"shape": [256, 256], "pitch": "8 um", "fill_factor": 1.0},
    "camera": {"shape": [256, 256], "pitch": "8 um"},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("timeline")
    data = write_glyph_idx(tmp / "idx", 160, 40)
    cfg = sclc_config(channels=(4, 4), detection="intensity")
    run = tmp / "model"
    run.mkdir()
    save_model(run, build_model(cfg, seed=0), cfg, {}, TrainConfig())
    bench = tmp / "drifting.yaml"
    bench.write_text(yaml.safe_dump({
        "name": "small_drifting", "seed": 1, "system": SYSTEM,
        "laser": {"power": "1 uW", "beam_waist": None},
        "imperfections": {"drift": {"camera_shift": "6 px/h"}},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }))  # fmt: skip
    with load_bench(bench) as b:
        cal, _ = calibrate(b, only=("registration",), bench_path=bench)
    cal_path = cal.save(tmp / "calibration.h5")
    bundle = compile_model(run, FourFSystem.from_dict(SYSTEM), encoding="complex")
    return {"tmp": tmp, "data": f"idx:{data}", "bench": bench, "cal": cal_path,
            "bundle": bundle.save(tmp / "bundle.h5")}  # fmt: skip


def _argv(setup, out: Path, *extra: str) -> list[str]:
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--calibration", str(setup["cal"])]
    return [*argv, "--out", str(out), "--limit", "8", "--no-progress", "--threads", "1", *extra]


def test_timeline_points_and_the_cost_of_drift(setup):
    out = setup["tmp"] / "drift"
    assert main(_argv(setup, out, "--timeline", "1h", "--points", "3")) == 0
    res = json.loads((out / "results.json").read_text())
    tl = res["timeline"]
    assert len(tl) == 3 and "calibration_frames" not in res
    for p in tl:
        assert set(p) == {"t_s", "accuracy", "feature_nrmse", "recalibrated"}
        assert not p["recalibrated"]
    assert tl[0]["t_s"] == 0.0
    assert [p["t_s"] for p in tl[1:]] == pytest.approx([1800.0, 3600.0], abs=1.0)
    assert tl[0]["feature_nrmse"] == pytest.approx(res["optical"]["feature_nrmse"])
    # 6 camera px in the hour: the readout's windows miss the tiles
    assert tl[2]["feature_nrmse"] > 3 * tl[0]["feature_nrmse"]
    assert (out / "timeline.png").stat().st_size > 1000


def test_recalibrating_keeps_the_features(setup):
    out = setup["tmp"] / "recal"
    extra = ("--timeline", "1h", "--points", "2", "--recalibrate-every", "30min")
    assert main(_argv(setup, out, *extra)) == 0
    res = json.loads((out / "results.json").read_text())
    tl, frames = res["timeline"], res["calibration_frames"]
    assert [f["t_s"] for f in frames] == pytest.approx([1800.0, 3600.0], abs=5.0)
    assert all(f["drifted"] == ["registration_px"] for f in frames)
    assert all(f["routines"] == ["registration"] for f in frames)
    assert frames[0]["frames"]["registration"]["captured"] > 0
    assert tl[1]["recalibrated"]
    assert tl[1]["feature_nrmse"] < 1.5 * tl[0]["feature_nrmse"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--timeline", "1h", "--points", "1"), "--points: got 1"),
        (("--timeline", "3600"), "--timeline: '3600' has no time unit"),
        (("--timeline", "1h", "--recalibrate-every", "600"), "'600' has no time unit"),
        (("--points", "3"), "--points: goes with --timeline"),
        (("--recalibrate-every", "10min"), "--recalibrate-every: goes with --timeline"),
        (("--timeline", "1h", "--recalibrate-every", "10"), "--recalibrate-every"),
    ],
)
def test_bad_timeline_is_one_line(setup, capsys, extra, message):
    out = setup["tmp"] / "bad"
    assert main(_argv(setup, out, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_timeline_on_hardware_is_one_line(setup, capsys):
    out = setup["tmp"] / "hw"
    argv = _argv(setup, out, "--timeline", "1h")
    argv[argv.index("--bench") + 1] = str(ROOT / "examples" / "benches" / "slmsuite_hardware.yaml")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--timeline" in err[0] and "hardware" in err[0]
    assert not out.exists()
