"""A calibration is tied to the bench it was measured on (name, seed, device grids, drivers,
profiles, the Fourier SLM's bit depth and modulation): simulate, finetune's loader, compile and
the Python check refuse it on another bench in one line; a file older than the fingerprint
still loads, with a warning that its seed was not recorded."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.calset import FORMAT, VERSION, CalibrationSet
from calibration.errors import CalibrationWarning
from calibration.run import calibrate
from devices.config import load_bench
from fouroptics.cli import main
from fouroptics.commands.inputs import load_calibration
from fouroptics.compiler import compile_kernels
from fouroptics.errors import ConfigError
from fouroptics.io.digest import file_sha256
from fouroptics.io.h5 import write_h5
from fouroptics.optics import FourFSystem


def _variant(small_bench_yaml: Path, stem: str, **changes) -> Path:
    """The small bench with some top-level fields changed (``camera_shape`` edits the grid)."""
    cfg = yaml.safe_load(small_bench_yaml.read_text())
    shape = changes.pop("camera_shape", None)
    cfg.update(changes)
    if shape is not None:
        cfg["system"] = copy.deepcopy(cfg["system"])
        cfg["system"]["camera"]["shape"] = list(shape)
    path = small_bench_yaml.parent / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _measured_on(bench_yaml: Path, out: Path, seed: int | None = None) -> Path:
    """A calibration (no routine run: only its bench fingerprint) of ``bench_yaml``."""
    with load_bench(bench_yaml, seed=seed) as bench:
        cal, _ = calibrate(bench, only=(), bench_path=bench_yaml, seed=seed)
    return cal.save(out)


@pytest.fixture
def bundle(small_bench_yaml, tmp_path) -> Path:
    """A small kernel bundle compiled for the small bench's system (simulate loads it first)."""
    system = FourFSystem.from_yaml(small_bench_yaml)
    kernels = np.random.default_rng(3).standard_normal((2, 3, 3))
    bun = compile_kernels(kernels, system, image_size=8, detection="intensity")
    return bun.save(tmp_path / "bundle.h5")


def _simulate(bundle: Path, bench: Path, cal: Path, out: Path, capsys) -> str:
    argv = ["simulate", "--bundle", str(bundle), "--bench", str(bench), "--dataset", "glyphs"]
    rc = main([*argv, "--calibration", str(cal), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert not (out / "results.json").exists()
    return err[0]


def test_calibrate_records_the_seed_it_used_and_simulate_refuses_another(
    small_bench_yaml, bundle, tmp_path, capsys
):
    out = tmp_path / "cal8"
    argv = ["calibrate", "--bench", str(small_bench_yaml), "--out", str(out), "--no-progress"]
    assert main([*argv, "--only", "registration", "--seed", "8"]) == 0
    assert json.loads((out / "calibration.json").read_text())["bench_seed"] == 8
    cal = CalibrationSet.load(out / "calibration.h5")
    fp = cal.fingerprint
    assert fp["seed"] == 8 and fp["simulated"] is True
    assert fp["camera"]["shape"] == [256, 256] and fp["input_slm"]["shape"] == [128, 128]
    assert fp["fourier_slm"]["pitch"] == pytest.approx(8e-6)
    assert fp["fourier_slm"]["bit_depth"] == 8 and fp["fourier_slm"]["modulation"] == "phase"
    assert fp["fourier_slm"]["driver"] == "simulated"
    assert fp["fourier_slm"]["profile"] == "holoeye_pluto2"

    err = _simulate(bundle, small_bench_yaml, out / "calibration.h5", tmp_path / "sim", capsys)
    assert err.startswith("fouroptics simulate: error: calibration ")
    assert "measured on bench 'small_noisy' seed 8, not on bench 'small_noisy' seed 7" in err
    assert f"recalibrate this bench (fouroptics calibrate --bench {small_bench_yaml}" in err
    with load_bench(small_bench_yaml, seed=8) as bench:  # the same draw: accepted
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert cal.check_bench(bench, small_bench_yaml, seed=8) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"name": "other_bench"},
            "measured on bench 'other_bench' seed 7, not on bench 'small_noisy'",
        ),
        ({"camera_shape": (200, 200)}, "camera shape (200, 200) measured, bench has (256, 256)"),
    ],
    ids=["name", "shape"],
)
def test_simulate_refuses_a_calibration_of_another_bench(
    small_bench_yaml, bundle, tmp_path, capsys, changes, message
):
    other = _variant(small_bench_yaml, "other", **changes)
    cal = _measured_on(other, tmp_path / "cal.h5")
    err = _simulate(bundle, small_bench_yaml, cal, tmp_path / "sim", capsys)
    assert "fouroptics simulate: error: calibration " in err and message in err, err


@pytest.mark.parametrize(
    ("changes", "seed", "message"),
    [
        ({"name": "other_bench"}, None, "'other_bench' seed 7, not on bench 'small_noisy' seed 7"),
        ({}, 8, "measured on bench 'small_noisy' seed 8, not on bench 'small_noisy' seed 7"),
        ({"camera_shape": (200, 200)}, None, "camera shape (200, 200) measured, bench has"),
    ],
    ids=["name", "seed", "shape"],
)
def test_the_python_check_and_compile_refuse_another_bench(
    small_bench_yaml, tmp_path, capsys, changes, seed, message
):
    other = _variant(small_bench_yaml, "other", **changes) if changes else small_bench_yaml
    cal_path = _measured_on(other, tmp_path / "cal.h5", seed=seed)
    cal = CalibrationSet.load(cal_path)
    with load_bench(small_bench_yaml) as bench:
        with pytest.raises(ConfigError, match="recalibrate this bench") as info:
            cal.check_bench(bench, bench_path=small_bench_yaml)
        assert message in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_calibration(str(cal_path), bench, small_bench_yaml)
    with pytest.raises(ConfigError, match="measured on bench|measured, bench has"):
        CalibrationSet.load(cal_path, bench=small_bench_yaml)  # the YAML alone

    np.save(tmp_path / "k.npy", np.ones((1, 3, 3)))
    argv = ["compile", "--kernels", str(tmp_path / "k.npy"), "--image-size", "8"]
    argv += ["--system", str(small_bench_yaml), "--calibration", str(cal_path)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fouroptics compile: error: calibration " in err[0], err
    assert not (tmp_path / "out" / "bundle.h5").exists()


def test_a_matching_calibration_passes_and_an_edited_yaml_only_warns(small_bench_yaml, tmp_path):
    cal_path = _measured_on(small_bench_yaml, tmp_path / "cal.h5")
    with load_bench(small_bench_yaml) as bench, warnings.catch_warnings():
        warnings.simplefilter("error")
        cal = load_calibration(str(cal_path), bench, small_bench_yaml)
        assert cal.check_bench(bench, small_bench_yaml) == []
        CalibrationSet.load(cal_path, bench=small_bench_yaml)  # compile's check: the YAML
    small_bench_yaml.write_text(small_bench_yaml.read_text() + "\n# realigned\n")
    with load_bench(small_bench_yaml) as bench:
        with pytest.warns(CalibrationWarning, match="differs from the one calibrated|older than"):
            load_calibration(str(cal_path), bench, small_bench_yaml)


def test_an_old_file_without_a_fingerprint_loads_with_a_warning(small_bench_yaml, tmp_path):
    """Files written before the fingerprint: the meta of format version 1 as it was."""
    meta = {
        "bench_name": "small_noisy",
        "bench_path": str(small_bench_yaml),
        "bench_sha256": file_sha256(small_bench_yaml),
        "created": "2024-01-01T00:00:00+00:00",
    }
    reg = {"affine": np.eye(2, 3), "residual_px": 0.01, "beam_profile": np.ones((4, 4))}
    path = write_h5(tmp_path / "old.h5", FORMAT, VERSION, {"meta": meta, "registration": reg})
    with load_bench(small_bench_yaml) as bench:
        with pytest.warns(CalibrationWarning, match="does not record the seed") as rec:
            cal = load_calibration(str(path), bench, small_bench_yaml)
        assert len(rec) == 1 and "only the bench name was checked" in str(rec[0].message)
        assert cal.fingerprint == {} and cal.registration.shape == (2, 3)
        other = _variant(small_bench_yaml, "other", name="other_bench")
        with pytest.raises(ConfigError, match="measured on bench 'small_noisy', not on bench"):
            CalibrationSet.load(path, bench=other)  # the name was always recorded


def test_allow_other_bench_turns_the_refusal_into_one_warning_line(
    small_bench_yaml, tmp_path, capsys
):
    """A lab that moved a camera on purpose: compile and simulate use the calibration, with
    one clean ``warning: ...`` line naming what differs (no Python source line)."""
    other = _variant(small_bench_yaml, "other", camera_shape=(200, 200))
    measured = CalibrationSet.load(_measured_on(other, tmp_path / "cal.h5"))
    levels = np.arange(256)  # a linear LUT for compile (no routine was run)
    lut = {"modulation": "phase", "curve": 2 * np.pi * levels / 256, "inverse": levels}
    measured.sections["lut"] = {"fourier_slm": lut}
    cal = measured.save(tmp_path / "cal.h5")
    np.save(tmp_path / "k.npy", np.ones((1, 3, 3)))
    argv = ["compile", "--kernels", str(tmp_path / "k.npy"), "--image-size", "8"]
    argv += ["--system", str(small_bench_yaml), "--calibration", str(cal), "--upsample", "1"]
    argv += ["--encoding", "double-phase"]
    assert main([*argv, "--out", str(tmp_path / "c"), "--allow-other-bench"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"warning: calibration {cal}: camera shape (200, 200) measured, bench has (256, 256) "
        "(used anyway: --allow-other-bench)"
    ]
    with load_bench(small_bench_yaml) as bench:  # simulate's and finetune's loader
        with pytest.warns(CalibrationWarning, match=r"\(used anyway: --allow-other-bench\)"):
            loaded = load_calibration(str(cal), bench, small_bench_yaml, allow_other_bench=True)
        with pytest.warns(CalibrationWarning):  # OpticalModel checks it again: a warning still
            loaded.check_bench(bench)
