"""Fast checks of the demo's parts: packaged benches, the stage plan, the calibration limits,
the refusal of a used folder, the 4f drawing. The end-to-end run is test_demo_quick.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from fouroptics.cli import main
from fouroptics.commands import demo, demo_benches
from fouroptics.commands.demo_report import calibration_checks
from fouroptics.io.yaml_load import load_yaml, parse_yaml
from fouroptics.report import write_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["misaligned_noisy", "ideal"])
def test_packaged_benches_are_the_examples(name: str) -> None:
    packaged = parse_yaml(demo_benches.PACKAGED[name], f"packaged {name}")
    assert packaged == load_yaml(ROOT / "examples" / "benches" / f"{name}.yaml")


def test_packaged_benches_written_without_examples(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(demo_benches, "EXAMPLES", tmp_path / "no_examples")
    paths = demo_benches.bench_paths(tmp_path)
    assert paths["ideal"] == tmp_path / "benches" / "ideal.yaml"
    assert paths["misaligned_noisy"].read_text() == demo_benches.MISALIGNED_NOISY
    from devices.config import load_bench

    with load_bench(paths["misaligned_noisy"]) as bench:  # a bench the devices accept
        assert bench is not None


def test_plan_uses_the_fixed_verb_flags(tmp_path: Path) -> None:
    benches = {"misaligned_noisy": Path("n.yaml"), "ideal": Path("i.yaml")}
    stages = demo.plan(tmp_path, "glyphs", demo.QUICK, benches)
    names = [s.name for s in stages]
    assert names == ["train", "compile", "calibrate", "simulate", "sweep", "finetune"]
    argv = {step.folder: step.command(tmp_path) for s in stages for step in s.steps}
    assert argv["compile"][:1] == ["compile"]
    assert "double-phase" in argv["compile"]
    assert "--slm" not in argv["compile"]  # each bench declares its own Fourier SLM
    assert argv["compile"][argv["compile"].index("--system") + 1] == "n.yaml"
    assert argv["compile_ideal"][argv["compile_ideal"].index("--system") + 1] == "i.yaml"
    cal = str(tmp_path / "calibrate" / "calibration.h5")
    assert "--calibration" not in argv["simulate_noisy"]
    assert (
        argv["simulate_calibrated"][argv["simulate_calibrated"].index("--calibration") + 1] == cal
    )
    assert argv["finetune"][argv["finetune"].index("--calibration") + 1] == cal
    # after calibration the student is recompiled on the measured LUT and that bundle is run
    recompiled = argv["compile_calibrated"]
    assert recompiled[recompiled.index("--calibration") + 1] == cal
    cal_bundle = str(tmp_path / "compile_calibrated" / "bundle.h5")
    for name in ("simulate_calibrated", "finetune"):
        assert argv[name][argv[name].index("--bundle") + 1] == cal_bundle
    assert argv["simulate_noisy"][argv["simulate_noisy"].index("--bundle") + 1] != cal_bundle
    for step_argv in argv.values():
        assert step_argv[-2:] == ["--out", str(tmp_path / step_argv[-1].split("/")[-1])]
    full = demo.plan(tmp_path, "glyphs", demo.FULL, benches)
    assert [s.steps[0].argv for s in full] != [s.steps[0].argv for s in stages]


def _cal(**errors: float) -> dict:
    base = {
        "camera.gain": 0.01,
        "camera.read_noise": 0.05,
        "camera.full_well": 0.02,
        "lut.fourier_slm.phase_rms_error_rad": 0.01,
        "registration.residual_px": 0.02,
        "fourier.centre_error_px": 0.1,
        "fourier.scale_error": 0.001,
    }
    base.update(errors)
    cal: dict = {}
    for key, value in base.items():
        node = cal
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = {"measured": value, "true": 0.0, "error": value}
    return cal


def test_calibration_limits_are_issue_10s() -> None:
    assert all(c["within"] for c in calibration_checks(_cal()))
    for key, bad in (
        ("camera.gain", 0.031),
        ("camera.read_noise", -0.11),
        ("camera.full_well", 0.051),
        ("lut.fourier_slm.phase_rms_error_rad", 0.051),
        ("registration.residual_px", 0.11),
        ("fourier.centre_error_px", 0.26),
        ("fourier.scale_error", -0.0011),
    ):
        failed = [c["key"] for c in calibration_checks(_cal(**{key: bad})) if not c["within"]]
        assert failed == [key]


def test_used_folder_is_refused_without_resume_or_force(tmp_path: Path, capsys) -> None:
    write_json(tmp_path / demo.MANIFEST, {"version": demo.MANIFEST_VERSION, "stages": {}})
    (tmp_path / "mine.txt").write_text("keep")
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0] and "--force" in err[0]
    assert (tmp_path / "mine.txt").read_text() == "keep"


def test_force_removes_only_what_the_demo_wrote(tmp_path: Path) -> None:
    stages = demo.plan(tmp_path, "glyphs", demo.QUICK, demo_benches.bench_paths(tmp_path))
    for name in ("train", "simulate_ideal"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{}")
    (tmp_path / "report.md").write_text("old")
    (tmp_path / "mine.txt").write_text("keep")
    demo._remove_stages(tmp_path, stages)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_layout_drawing(tmp_path: Path) -> None:
    from fouroptics.commands.layout_figure import draw_layout
    from fouroptics.optics import FourFSystem

    system = FourFSystem.from_yaml(ROOT / "examples/systems/realistic.yaml")
    path = draw_layout(system, tmp_path / "layout.png", title="realistic")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


def test_a_failing_stage_is_one_line_naming_the_verb_and_its_log(tmp_path: Path) -> None:
    step = demo.Step("compile", ["compile", "--no-such-flag"], "compile.json")
    with pytest.raises(demo.StageError) as info:
        demo._run_step(tmp_path, step)
    msg = str(info.value)
    assert "`fouroptics compile` exited 2" in msg and str(tmp_path / "compile" / "log.txt") in msg
    assert "--no-such-flag" in (tmp_path / "compile" / "log.txt").read_text()
    step = demo.Step("train", ["experiment", "classify", "--dataset", "nope"], "results.json")
    with pytest.raises(demo.StageError, match="error: .*nope"):
        demo._run_step(tmp_path, step)


@pytest.mark.parametrize("dataset", ["nope", "idx:/no/such/folder"])
def test_a_bad_dataset_is_refused_before_any_stage_writes(
    tmp_path: Path, capsys, dataset: str
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quick", "--dataset", dataset]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and dataset.split(":")[-1] in err[0]
    assert not out.exists()
