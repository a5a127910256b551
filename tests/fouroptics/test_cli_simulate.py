"""``fouroptics simulate`` and ``fouroptics finetune`` end to end on a small simulated bench and
a tiny IDX dataset: results.json fields, figures, sweeps, one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from glyph_idx import write_glyph_idx

from fouroptics.cli import main
from fouroptics.compiler import compile_model
from fouroptics.nn.models import build_model, sclc_config
from fouroptics.nn.train import TrainConfig, save_model
from fouroptics.optics import FourFSystem

SYSTEM = {
    "wavelength": "532 nm",
    "f1": "40 mm",
    "f2": "40 mm",
    "input_slm": {"shape": [128, 128], "pitch": "8 um"},
    "fourier_slm": {"shape": [256, 256], "pitch": "8 um", "fill_factor": 1.0},
    "camera": {"shape": [256, 256], "pitch": "8 um"},
}


def bench_yaml(folder: Path, **system_changes) -> Path:
    cfg = {
        "name": "small",
        "seed": 1,
        "system": {**SYSTEM, **system_changes},
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude"},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }
    path = folder / f"bench{len(system_changes)}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    data = write_glyph_idx(tmp / "idx", 160, 40)
    cfg = sclc_config(channels=(4, 4), detection="intensity")
    model = build_model(cfg, seed=0)
    run = tmp / "model"
    run.mkdir()
    save_model(run, model, cfg, {}, TrainConfig())
    bench = bench_yaml(tmp)
    bundle = compile_model(run, FourFSystem.from_dict(SYSTEM), encoding="complex")
    path = bundle.save(tmp / "bundle.h5")
    return {"tmp": tmp, "data": f"idx:{data}", "bench": bench, "bundle": path, "model": model}


def test_simulate_writes_results_and_figures(setup):
    out = setup["tmp"] / "out"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--limit", "12", "--no-progress"]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    opt = res["optical"]
    for key in ("accuracy", "feature_nrmse", "frames", "frames_per_s", "mean_photons_per_pixel"):
        assert opt[key] is not None
    assert opt["frames"] == 12 * res["hardware_estimate"]["frames_per_inference"]
    assert opt["saturated_fraction"] == 0
    assert 0.4 < res["exposure"]["brightest_tile_fraction"] < 0.6
    assert opt["feature_nrmse"] < 0.1  # shot and read noise at half full well
    est = res["hardware_estimate"]
    assert est["frame_rates_hz"]["camera"] == 163.0  # from the IMX174 profile
    assert est["electronic_head_macs"] > 0 and est["optical_macs_per_s"] > 0
    for name in ("camera_frame.png", "features.png", "confusion.png"):
        assert (out / name).stat().st_size > 1000


def test_simulate_noise_off_matches_digital(setup):
    out = setup["tmp"] / "quiet"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--limit", "8", "--no-progress"]
    assert main([*argv, "--no-noise"]) == 0
    res = json.loads((out / "results.json").read_text())
    # the profile camera's fixed pattern (PRNU 0.5 %) stays: features within 1e-2
    assert res["optical"]["feature_nrmse"] < 1e-2
    assert res["optical"]["agreement_with_digital"] == 1.0


@pytest.mark.slow
def test_photon_sweep_reports_points_with_spread(setup):
    out = setup["tmp"] / "sweep"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--limit", "4", "--no-progress"]
    assert main([*argv, "--sweep", "photons", "--seeds", "0", "1"]) == 0
    res = json.loads((out / "results.json").read_text())
    pts = res["sweep"]["series"]["intensity"]
    assert len(pts) == 11 and all(len(p["accuracies"]) == 2 for p in pts)
    # photons measured back from the DN (gain, QE, offset) agree with the set level where the
    # signal exceeds the read noise and the ADC step (8 e- per DN here)
    measured = [p["mean_photons_per_pixel"] for p in pts if p["value"] >= 10]
    np.testing.assert_allclose(measured, [p["value"] for p in pts if p["value"] >= 10], rtol=0.05)
    # photons detected in all windows per brightest-tile photon: at most the pixels read
    sweep = res["sweep"]
    read = sweep["detected_per_brightest"]
    from fouroptics.compiler import MaskBundle

    b = MaskBundle.load(setup["bundle"])
    assert 0 < read <= b.meta["optical_channels"] * len(b.arrays["window_offsets"]) ** 2
    assert "falloff_photons_per_mac_detected" in sweep
    assert (out / "sweep_photons.png").exists()


@pytest.mark.slow
def test_photon_sweep_scales_the_stray_light_in_the_offset(setup):
    """Stray light reaches the camera in proportion to the laser power: a photon sweep that
    kept the photometry's offset (fitted with the stray light of the run's own power) counted
    the dim points' photons short by the stray light's share (the brightest tile's mean at
    100 requested read -98 here) and read their features against a background no longer there."""
    cfg = yaml.safe_load(setup["bench"].read_text())
    cfg["imperfections"] = {"noise": {"stray_light": "2 %"}}
    bench = setup["tmp"] / "stray.yaml"
    bench.write_text(yaml.safe_dump(cfg))
    out = setup["tmp"] / "sweep_stray_offset"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(bench)]
    argv += ["--dataset", setup["data"], "--out", str(out), "--limit", "4", "--no-progress"]
    assert main([*argv, "--sweep", "photons", "--seeds", "0"]) == 0
    pts = json.loads((out / "results.json").read_text())["sweep"]["series"]["intensity"]
    measured = [p["mean_photons_per_pixel"] for p in pts if p["value"] >= 30]
    np.testing.assert_allclose(measured, [p["value"] for p in pts if p["value"] >= 30], rtol=0.1)


def test_bundle_for_another_system_is_one_line_exit_2(setup, capsys):
    other = bench_yaml(setup["tmp"], wavelength="633 nm")
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(other)]
    argv += ["--dataset", setup["data"], "--out", str(setup["tmp"] / "x"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "wavelength" in err[0] and "recompile" in err[0]


@pytest.mark.slow
def test_finetune_trains_the_head_on_measured_features(setup):
    out = setup["tmp"] / "ft"
    argv = ["finetune", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--train", "60", "--val", "20"]
    argv += ["--epochs", "2", "--limit", "10", "--no-progress"]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["before"]) == {"val_accuracy", "test_accuracy"}
    assert res["after"]["val_accuracy"] >= res["before"]["val_accuracy"]
    assert res["images"] == {"train": 60, "val": 20, "test": 10}
    from fouroptics.compiler import MaskBundle

    tuned = MaskBundle.load(out / "bundle.h5")
    assert tuned.meta["finetuned"]["kernels"] is False
    torch.testing.assert_close(
        tuned.head()(torch.zeros(1, 4, 14, 14)).shape, torch.Size([1, 10]), check_dtype=False
    )


@pytest.mark.slow
def test_finetune_kernels_recompiles_through_the_twin(setup):
    out = setup["tmp"] / "ftk"
    argv = ["finetune", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--train", "40", "--val", "20"]
    argv += ["--epochs", "1", "--limit", "8", "--kernels", "--lr", "0.05", "--no-progress"]
    assert main(argv) == 0
    from fouroptics.compiler import MaskBundle
    from fouroptics.nn.train import load_model

    tuned = MaskBundle.load(out / "bundle.h5")
    assert tuned.meta["finetuned"]["kernels"] is True
    # the gradient reached the optical kernels through the twin; they were recompiled
    moved, _ = load_model(out / "model", device=torch.device("cpu"))
    before = setup["model"].collapse().detach()
    assert not torch.allclose(moved.collapse().detach(), before)
    res = json.loads((out / "results.json").read_text())
    if res["best_epoch"] == 1:
        old = MaskBundle.load(setup["bundle"])
        assert not np.allclose(tuned.fourier_masks, old.fourier_masks)


def test_target_sets_the_brightest_tile_and_bad_run_options_are_one_line(setup, capsys):
    out = setup["tmp"] / "target"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--limit", "4", "--no-progress"]
    assert main([*argv, "--out", str(out), "--target", "0.8"]) == 0
    exposure = json.loads((out / "results.json").read_text())["exposure"]
    assert exposure["target_fraction"] == 0.8
    assert 0.7 < exposure["brightest_tile_fraction"] < 0.9
    capsys.readouterr()
    bad = [("--target", "2"), ("--target", "nan"), ("--batch", "0"), ("--seed", "-1")]
    bad += [("--threads", "-1")]
    for flag, value in bad:
        dest = setup["tmp"] / f"bad{flag}{value}"
        assert main([*argv, "--out", str(dest), flag, value]) == 2, flag
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0], err
        assert not dest.exists()


def test_bad_finetune_options_are_one_line_before_anything_is_written(setup, capsys):
    argv = ["finetune", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--no-progress", "--train", "60", "--val", "20"]
    bad = [("--lr", "-1"), ("--lr", "nan"), ("--lr", "inf"), ("--batch-size", "0")]
    bad += [("--batch-size", "-4"), ("--limit", "0"), ("--limit", "-1"), ("--epochs", "-1")]
    bad += [("--train", "100000")]
    for flag, value in bad:
        dest = setup["tmp"] / f"ftbad{flag}{value}"
        assert main([*argv, "--out", str(dest), flag, value]) == 2, flag
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0], err
        assert not dest.exists() or not any(dest.iterdir())


def test_a_dark_exposure_and_a_complex_bundle_on_a_phase_slm_are_warned(setup, capsys):
    """``--exposure`` far in the dark regime (a 50x dimmer laser): one warning with the
    expected photons per pixel; the complex bundle on the bench's phase-only Fourier SLM: one
    warning that the simulation shows it on an ideal complex modulator."""
    cfg = yaml.safe_load(setup["bench"].read_text())
    cfg["laser"]["power"] = "20 nW"
    dim = setup["tmp"] / "dim.yaml"
    dim.write_text(yaml.safe_dump(cfg))
    out = setup["tmp"] / "dark"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(dim), "--limit", "4"]
    argv += ["--dataset", setup["data"], "--out", str(out), "--no-progress"]
    assert main([*argv, "--exposure", "20 us"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "warning" in line]
    res = json.loads((out / "results.json").read_text())
    photons = res["optical"]["mean_photons_per_pixel"]
    assert photons < 10
    assert any(f"--exposure 2e-05 s: {photons:.3g} photons per pixel" in w for w in said), said
    assert any("cannot display complex masks" in w for w in said), said
    assert len(said) == 2 and res["optical"]["warnings"] == [w.split("warning: ")[1] for w in said]


def test_no_progress_bar_when_stderr_is_not_a_terminal(setup, capsys):
    """Without --no-progress, a log (here pytest's capture) gets no tqdm redraws."""
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(setup["tmp"] / "log"), "--limit", "2"]
    assert main(argv) == 0
    assert "frame" not in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["flicker", "rin", "stray"])
def test_temporal_sweeps_report_their_values_and_the_bench_value(setup, kind):
    out = setup["tmp"] / f"sweep_{kind}"
    argv = ["simulate", "--bundle", str(setup["bundle"]), "--bench", str(setup["bench"])]
    argv += ["--dataset", setup["data"], "--out", str(out), "--limit", "2", "--no-progress"]
    assert main([*argv, "--sweep", kind, "--seeds", "0"]) == 0
    sweep = json.loads((out / "results.json").read_text())["sweep"]
    from fouroptics.commands.sweeps import TEMPORAL

    assert sweep["kind"] == kind and "bench_value" in sweep
    pts = sweep["series"][kind]
    assert [p["value"] for p in pts] == list(TEMPORAL[kind][0])
    assert all(0 <= p["accuracy_mean"] <= 1 for p in pts)
    assert "falloff_value" in sweep  # the 1-point loss (None when it never loses a point)
    assert all(p["feature_nrmse"] >= 0 for p in pts)  # against the digital features
    assert (out / f"sweep_{kind}.png").exists()
