"""A bundle is tied to the model it was compiled from: compile records the model's path absolute,
simulate and finetune check its sha256 and refuse another model (or a teacher) in one line, a
missing model is refused unless ``--twin-reference`` asks for the bundle's twin (and
results.json says so); an older bundle's relative path is found from the bundle's folder or
one above it. An unreadable ``--bundle`` or ``--calibration`` is one line too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from bench_yaml import simulated_bench
from glyph_idx import write_glyph_idx

from fouroptics.cli import main
from fouroptics.compiler import compile_model
from fouroptics.nn.models import build_model, sclc_config, teacher_config
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


def _save(folder: Path, config: dict, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_model(folder, build_model(config, seed=seed), config, {}, TrainConfig())
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("identity")
    data = write_glyph_idx(tmp / "idx", 48, 8)
    cfg = sclc_config(channels=(4, 4), detection="intensity")
    _save(tmp / "model", cfg, 0)
    _save(tmp / "other", cfg, 1)
    _save(tmp / "teacher", teacher_config(), 0)
    bench = simulated_bench(SYSTEM, name="small")
    (tmp / "bench.yaml").write_text(yaml.safe_dump(bench))
    bundle = compile_model(tmp / "model", FourFSystem.from_dict(SYSTEM), encoding="complex")
    return {"tmp": tmp, "data": f"idx:{data}", "bundle": bundle}


@pytest.fixture
def case(made, tmp_path):
    """A fresh copy of the model folder and its bundle in ``tmp_path``."""
    shutil.copytree(made["tmp"] / "model", tmp_path / "model")
    bundle = made["bundle"]
    meta = {**bundle.meta, "source": {**bundle.meta["source"], "model": str(tmp_path / "model")}}
    bundle.meta = meta
    path = bundle.save(tmp_path / "bundle.h5")
    return {**made, "dir": tmp_path, "path": path}


def _run(verb: str, case: dict, *extra: str) -> tuple[int, Path]:
    out = case["dir"] / f"out{len(list(case['dir'].glob('out*')))}"
    argv = [verb, "--bundle", str(case["path"]), "--bench", str(case["tmp"] / "bench.yaml")]
    argv += ["--dataset", case["data"], "--out", str(out), "--limit", "4", "--no-progress"]
    if verb == "finetune":
        argv += ["--train", "8", "--val", "4", "--epochs", "1", "--threads", "1"]
    return main([*argv, *extra]), out


def _one_line(capsys, verb: str) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    err = [line for line in err if not line.startswith("warning: ")]
    assert len(err) == 1 and err[0].startswith(f"fouroptics {verb}: error: "), err
    return err[0]


def test_compile_records_the_model_path_absolute_and_resolved(made, tmp_path, monkeypatch):
    shutil.copytree(made["tmp"] / "model", tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    bundle = compile_model(Path("run"), FourFSystem.from_dict(SYSTEM), encoding="complex")
    assert bundle.meta["source"]["model"] == str((tmp_path / "run").resolve())


@pytest.mark.parametrize("verb", ["simulate", "finetune"])
@pytest.mark.parametrize("impostor", ["other", "teacher"])
def test_another_model_in_the_model_folder_is_refused(case, capsys, verb, impostor):
    shutil.rmtree(case["dir"] / "model")
    shutil.copytree(case["tmp"] / impostor, case["dir"] / "model")
    expected = case["bundle"].meta["source"]["model_sha256"]
    rc, out = _run(verb, case)
    line = _one_line(capsys, verb)
    assert rc == 2 and "model.pt: not the model --bundle" in line
    assert f"{expected[:12]}... expected" in line and "--twin-reference" in line
    assert not (out / "results.json").exists() and not (out / "bundle.h5").exists()


def test_a_teacher_is_refused_by_kind_when_the_bundle_has_no_hash(case, capsys):
    bundle = case["bundle"]
    source = {k: v for k, v in bundle.meta["source"].items() if k != "model_sha256"}
    bundle.meta = {**bundle.meta, "source": {**source, "model": str(case["dir"] / "model")}}
    bundle.save(case["path"])
    shutil.rmtree(case["dir"] / "model")
    shutil.copytree(case["tmp"] / "teacher", case["dir"] / "model")
    rc, _ = _run("simulate", case)
    assert rc == 2 and "holds a 'teacher' model, not the SCLC" in _one_line(capsys, "simulate")


def test_a_missing_model_is_refused_unless_the_twin_is_asked_for(case, capsys):
    shutil.rmtree(case["dir"] / "model")
    rc, out = _run("simulate", case)
    line = _one_line(capsys, "simulate")
    assert rc == 2 and "is not at hand" in line and "--twin-reference" in line
    assert not (out / "results.json").exists()
    rc, out = _run("simulate", case, "--twin-reference")
    assert rc == 0
    digital = json.loads((out / "results.json").read_text())["digital"]
    assert digital["reference"] == "twin" and "--twin-reference" in digital["source"]


def test_finetune_head_on_the_twin_reference(case, capsys):
    shutil.rmtree(case["dir"] / "model")
    rc, _ = _run("finetune", case, "--kernels", "--twin-reference")
    assert rc == 2 and "--kernels with --twin-reference" in _one_line(capsys, "finetune")
    rc, out = _run("finetune", case, "--twin-reference")
    assert rc == 0, capsys.readouterr().err
    res = json.loads((out / "results.json").read_text())
    assert "--twin-reference" in res["digital_source"] and (out / "bundle.h5").exists()


def test_an_old_bundles_relative_model_path_is_found_beside_the_bundle(case, monkeypatch):
    bundle = case["bundle"]
    bundle.meta = {**bundle.meta, "source": {**bundle.meta["source"], "model": "model"}}
    bundle.save(case["path"])
    elsewhere = case["dir"] / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc, out = _run("simulate", case)
    assert rc == 0
    digital = json.loads((out / "results.json").read_text())["digital"]
    assert digital["reference"] == "model"
    assert digital["source"] == f"model {case['dir'] / 'model' / 'model.pt'}"


def test_an_old_bundles_path_relative_to_where_compile_ran_is_found_from_above(case, monkeypatch):
    """``make demo`` wrote ``demo_out/train/...`` relative to the repository: a bundle in
    ``demo_out/compile/`` finds it from a folder above its own, wherever simulate runs."""
    bundle = case["bundle"]
    top = case["dir"]
    src = {**bundle.meta["source"], "model": f"{top.name}/model"}
    bundle.meta = {**bundle.meta, "source": src}
    bundle.save(case["path"])
    elsewhere = top / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc, out = _run("simulate", case)
    assert rc == 0
    digital = json.loads((out / "results.json").read_text())["digital"]
    assert digital["source"] == f"model {top / 'model' / 'model.pt'}"


@pytest.mark.parametrize("which", ["--bundle", "--calibration"])
def test_an_unreadable_bundle_or_calibration_is_one_line(case, capsys, monkeypatch, which):
    import builtins

    from fouroptics.io import header

    locked = case["path"]
    if which == "--calibration":  # refused for its permissions before its kind is read
        locked = Path(shutil.copy(case["path"], case["dir"] / "cal.h5"))
    real_open = builtins.open

    def denied(path, *args, **kwargs):  # chmod 000 as root reads anyway: deny it here
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(header, "open", denied, raising=False)
    extra = ("--calibration", str(locked)) if which == "--calibration" else ()
    rc, out = _run("simulate", case, *extra)
    line = _one_line(capsys, "simulate")
    assert rc == 2 and f"{locked}: cannot read it (Permission denied)" in line
    assert not (out / "results.json").exists()
