"""One folder, one run: ``--resume`` refuses other settings (each listed), a new run refuses a
folder that holds one, a checkpoint refuses a model it does not fit, and a run killed with
SIGKILL mid-epoch resumes to the same weights as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fouroptics.errors import RunFolderError
from fouroptics.nn import commands
from fouroptics.nn.models import build_model, sclc_config
from fouroptics.nn.train import CHECKPOINT, FINAL, TrainConfig, fit, load_model

TINY = ["--dataset", "glyphs", "--limit-train", "64", "--limit-test", "32", "--threads", "1",
        "--device", "cpu", "--batch-size", "32"]  # fmt: skip


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def sclc_run(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("sclc") / "run"
    argv = ["train", "--model", "sclc", "--channels", "4", "4", "--epochs", "1", "--out",
            str(out), *TINY]  # fmt: skip
    assert commands.main(argv) == 0
    return out, argv


# (option, new value, the stored value as the message quotes it)
CHANGES = [
    ("--detection", "ideal", "'intensity'"),  # the default is intensity
    ("--epochs", "2", "1"),
    ("--lr", "0.01", "0.002"),
    ("--batch-size", "16", "32"),
    ("--seed", "1", "0"),
    ("--limit-train", "48", "64"),
    ("--limit-test", "16", "32"),
    ("--val", "8", "0"),
    ("--channels", "4 8", "[4, 4]"),
    ("--dataset", "idx", "'glyphs'"),
]


@pytest.mark.parametrize(("option", "value", "stored"), CHANGES, ids=[c[0] for c in CHANGES])
def test_resume_with_another_setting_refuses_and_names_it(
    sclc_run, option, value, stored, tmp_path, capsys
) -> None:
    out, argv = sclc_run
    before = _snapshot(out)
    argv = list(argv)
    if option == "--dataset":
        from fouroptics.data import render_glyphs, write_idx

        x, y = render_glyphs(96, seed=2)
        img = (x[:, 0] * 255).round().to(torch.uint8).numpy()
        lab = y.numpy().astype("uint8")
        for prefix, sl in (("train", slice(0, 64)), ("t10k", slice(64, 96))):
            write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", img[sl])
            write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", lab[sl])
        value = f"idx:{tmp_path}"
    if option in argv:
        i = argv.index(option)
        n_old = 2 if option == "--channels" else 1
        argv[i + 1 : i + 1 + n_old] = value.split()
    else:
        argv += [option, *value.split()]
    capsys.readouterr()
    assert commands.main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: --resume" in err and "settings differ" in err
    assert f"{option}: stored {stored}, asked" in err
    assert _snapshot(out) == before  # nothing written


def test_resume_with_the_same_settings_does_not_retrain(sclc_run, capsys) -> None:
    out, argv = sclc_run
    capsys.readouterr()
    assert commands.main([*argv, "--resume"]) == 0
    log = capsys.readouterr().out
    assert "resuming" in log and "epoch 1/1 loss" not in log


def test_new_run_into_a_folder_holding_a_run_refuses(sclc_run, capsys) -> None:
    out, argv = sclc_run
    before = _snapshot(out)
    capsys.readouterr()
    assert commands.main(argv) == 2  # same settings, but no --resume
    err = capsys.readouterr().err
    assert f"folder {out} holds a finished run" in err
    assert "use --resume to continue it or another --out" in err
    teacher = ["train", "--model", "teacher", "--width", "4", "8", "--epochs", "1", "--out",
               str(out), *TINY]  # fmt: skip
    assert commands.main(teacher) == 2
    assert "holds a finished run" in capsys.readouterr().err
    assert commands.main([*teacher, "--resume"]) == 2  # another model kind
    assert "--model: stored 'sclc', asked 'teacher'" in capsys.readouterr().err
    assert _snapshot(out) == before


def _experiment_argv(out: Path, **changes: str) -> list[str]:
    opts = {"--preset": "quick", "--teacher-epochs": "1", "--student-epochs": "1",
            "--seeds": "0", "--limit-train": "64", "--limit-test": "32"}  # fmt: skip
    opts.update(changes)
    argv = ["experiment", "classify", "--out", str(out), "--dataset", "glyphs"]
    for k, v in opts.items():
        argv += [k, *v.split()]
    return argv


def test_experiment_resume_refuses_other_settings(tmp_path: Path, capsys) -> None:
    from fouroptics.nn.experiment import ExperimentOptions
    from fouroptics.nn.options import option_values
    from fouroptics.nn.presets import get_preset
    from fouroptics.nn.runfolder import flatten, write_manifest

    out = tmp_path / "exp"
    assert commands.main([*_experiment_argv(out, **{"--limit-train": "0"}), "--resume"]) == 2
    assert "--limit-train 0: must be an integer >= 1; omit it for all" in capsys.readouterr().err
    assert not out.exists()  # checks come before anything is written
    # an interrupted experiment: run.json, then a teacher checkpoint, no model finished yet
    opts = ExperimentOptions(task="classify", dataset="glyphs", out=out, seeds=[0],
                             student_epochs=1, teacher_epochs=1, limit_train=64,
                             limit_test=32)  # fmt: skip
    settings = {"experiment": "classify", **option_values(opts),
                **flatten("preset ", get_preset("classify", "quick"))}  # fmt: skip
    write_manifest(out, "experiment", settings)
    assert commands.main([*_experiment_argv(out, **{"--val": "64"}), "--resume"]) == 2
    assert "--val 64: the validation split must hold 1..63" in capsys.readouterr().err
    (out / "teacher" / "seed0").mkdir(parents=True)  # the teacher's first epoch was written
    (out / "teacher" / "seed0" / "checkpoint.pt").write_bytes(b"")
    cases = [
        ({"--detection": "signed"}, "--detection: stored 'intensity', asked 'signed'"),
        ({"--student-epochs": "2"}, "--student-epochs: stored 1, asked 2"),
        ({"--teacher-epochs": "3"}, "--teacher-epochs: stored 1, asked 3"),
        ({"--seeds": "0 1"}, "--seeds: stored [0], asked [0, 1]"),
        ({"--preset": "paper"}, "preset teacher.epochs: stored 4, asked 10"),
        ({"--temperature": "4"}, "--temperature: stored 10.0, asked 4.0"),
        ({"--alpha": "0.9"}, "--alpha: stored 0.5, asked 0.9"),
        ({"--limit-test": "16"}, "--limit-test: stored 32, asked 16"),
    ]
    for change, expected in cases:
        assert commands.main([*_experiment_argv(out, **change), "--resume"]) == 2, change
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1, (change, err)
    assert commands.main(_experiment_argv(out)) == 2  # no --resume: the folder holds a run
    assert "holds a partial run (run.json, teacher/seed0/checkpoint.pt)" in capsys.readouterr().err


@pytest.fixture(scope="module")
def small() -> tuple[torch.Tensor, ...]:
    from fouroptics.data import render_glyphs

    x, y = render_glyphs(160, seed=4)
    return x[:128], y[:128], x[128:], y[128:]


def test_checkpoint_refuses_a_model_of_another_detection_or_architecture(small, tmp_path) -> None:
    ideal = sclc_config(channels=(4, 4), detection="ideal")
    tc = TrainConfig(epochs=1, batch_size=32)
    fit(build_model(ideal), *small, tc, out_dir=tmp_path, model_config=ideal, log=lambda m: None)
    intensity = sclc_config(channels=(4, 4), detection="intensity")
    with pytest.raises(RunFolderError, match="model.detection: stored 'ideal', asked 'intensity'"):
        fit(build_model(intensity), *small, tc, out_dir=tmp_path, resume=True,
            model_config=intensity, log=lambda m: None)  # fmt: skip
    with pytest.raises(RunFolderError, match="train.lr: stored 0.001, asked 0.01"):
        fit(build_model(ideal), *small, TrainConfig(epochs=1, batch_size=32, lr=0.01),
            out_dir=tmp_path, resume=True, model_config=ideal, log=lambda m: None)  # fmt: skip
    # without configs to compare, the weights themselves must fit
    (tmp_path / FINAL).unlink()
    ck_dir = tmp_path / "bare"
    fit(build_model(ideal), *small, tc, out_dir=ck_dir, log=lambda m: None)
    signed = build_model(sclc_config(channels=(4, 4), detection="signed"))
    with pytest.raises(RunFolderError, match=r"checkpoint.pt: the checkpoint does not fit"):
        fit(signed, *small, tc, out_dir=ck_dir, resume=True, log=lambda m: None)
    with pytest.raises(RunFolderError, match="holds a finished run"):
        fit(build_model(ideal), *small, tc, out_dir=ck_dir, log=lambda m: None)


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path: Path, capsys) -> None:
    common = ["train", "--model", "sclc", "--channels", "4", "4", "--epochs", "4",
              "--dataset", "glyphs", "--limit-train", "1024", "--limit-test", "64",
              "--batch-size", "16", "--threads", "1", "--device", "cpu"]  # fmt: skip
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "fouroptics.nn.commands", *common, "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    try:
        while not (out / CHECKPOINT).exists():  # epoch 1 written: now inside epoch 2
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / FINAL).exists()  # killed before the end
    capsys.readouterr()
    assert commands.main([*common, "--out", str(out), "--resume"]) == 0
    log = capsys.readouterr().out
    assert "resuming" in log and "epoch 4/4 loss" in log and "epoch 1/4 loss" not in log
    straight = tmp_path / "straight"
    assert commands.main([*common, "--out", str(straight)]) == 0
    a, _ = load_model(out, torch.device("cpu"))
    b, state = load_model(straight, torch.device("cpu"))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(va, vb, atol=1e-5, rtol=1e-4, msg=k)
    assert state["history"]["epoch"] == [1, 2, 3, 4]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["history"]["epoch"] == [1, 2, 3, 4]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_experiment_reuses_copied_teachers_only_when_they_match(tmp_path: Path, capsys) -> None:
    """examples/experiment_mnist_paper.sh copies finished teachers into a new experiment folder
    and resumes it: each reused model is checked against the config it must have."""
    import shutil

    first = tmp_path / "ideal"
    assert (
        commands.main([*_experiment_argv(first, **{"--detection": "ideal"}), "--threads", "1"]) == 0
    )
    second = tmp_path / "intensity"
    shutil.copytree(first / "teacher", second / "teacher")
    capsys.readouterr()
    assert commands.main([*_experiment_argv(second), "--resume", "--threads", "1"]) == 0
    log = capsys.readouterr().out
    assert "teacher seed 0: finished earlier" in log and "sclc seed 0: training" in log
    assert json.loads((second / "results.json").read_text())["detection"] == "intensity"
    third = tmp_path / "longer"
    shutil.copytree(first / "teacher", third / "teacher")
    argv = [*_experiment_argv(third, **{"--teacher-epochs": "2"}), "--resume", "--threads", "1"]
    assert commands.main(argv) == 2
    err = capsys.readouterr().err
    assert "teacher/seed0/model.pt: the model was trained with other settings" in err
    assert "train.epochs: stored 1, asked 2" in err
    assert not (third / "run.json").exists()  # refused before training: no record to trip on
