"""Every option of train / distill / experiment out of range is refused with one line naming it
(nothing clamped, 0 never means "all"); distill takes only a teacher of the same dataset;
intensity is the default detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fouroptics.data import render_glyphs, write_idx
from fouroptics.errors import ConfigError
from fouroptics.nn import commands, load_run
from fouroptics.nn.commands import check_teacher

TINY = ["--dataset", "glyphs", "--limit-train", "64", "--limit-test", "32", "--threads", "1",
        "--device", "cpu", "--epochs", "1", "--batch-size", "32"]  # fmt: skip


def _with(argv: list[str], option: str, *values: str) -> list[str]:
    """``argv`` with ``option`` set to ``values`` (replaced where present, else appended)."""
    argv = list(argv)
    if option in argv:
        i = argv.index(option)
        j = i + 1
        while j < len(argv) and not argv[j].startswith("--"):
            j += 1
        del argv[i:j]
    return [*argv, option, *values]


TRAIN = ["train", "--model", "sclc", "--channels", "4", "4", *TINY]
TEACHER = ["train", "--model", "teacher", "--width", "4", "8", *TINY]
EXPERIMENT = ["experiment", "classify", "--dataset", "glyphs", "--limit-train", "64",
              "--limit-test", "32", "--threads", "1", "--device", "cpu", "--seeds", "0",
              "--teacher-epochs", "1", "--student-epochs", "1"]  # fmt: skip

BAD = [
    (TRAIN, "--limit-train", ["0"], "--limit-train 0: must be an integer >= 1; omit it for all"),
    (TRAIN, "--limit-train", ["-5"], "--limit-train -5: must be an integer >= 1; omit it for all"),
    (TRAIN, "--limit-test", ["0"], "--limit-test 0: must be an integer >= 1; omit it for all"),
    (TRAIN, "--epochs", ["0"], "--epochs 0: must be an integer from 1 to 10,000"),
    (TRAIN, "--epochs", [str(10**12)], f"--epochs {10**12}: must be an integer from 1 to 10,000"),
    (TRAIN, "--lr", ["0"], "--lr 0.0: must be a finite number > 0"),
    (TRAIN, "--lr", ["-0.1"], "--lr -0.1: must be a finite number > 0"),
    (TRAIN, "--lr", ["nan"], "--lr nan: must be a finite number > 0"),
    (TRAIN, "--batch-size", ["0"], "--batch-size 0: must be an integer >= 1"),
    (TRAIN, "--seed", ["-1"], "--seed -1: must be an integer in [0, 2147483647]"),
    (TRAIN, "--threads", ["0"], "--threads 0: must be an integer >= 1"),
    (TRAIN, "--val", ["-3"], "--val -3: must be an integer >= 0"),
    (TRAIN, "--val", ["64"], "--val 64: must be less than the 64 training images"),
    (TRAIN, "--channels", ["4", "0"], "--channels 0: must be an integer >= 1"),
    (TRAIN, "--width", ["4", "8"], "--width is a teacher option; --model sclc takes --channels"),
    (TEACHER, "--width", ["4"], "--width 4: the classify teacher takes 2 widths"),
    (TEACHER, "--detection", ["ideal"], "--detection is an SCLC option"),
    (TEACHER, "--channels", ["4"], "--channels is an SCLC option"),
    (TRAIN, "--device", ["gpu7"], "--device 'gpu7': not a device; allowed: cpu, cuda, cuda:K"),
    (TRAIN, "--device", ["cuda:99"], "--device 'cuda:99': this machine has"),
    (TRAIN, "--dataset", ["nope"], "unknown dataset 'nope'"),
    (
        EXPERIMENT,
        "--student-epochs",
        ["0"],
        "--student-epochs 0: must be an integer from 1 to 10,000; omit it for the preset's",
    ),
    (
        EXPERIMENT,
        "--teacher-epochs",
        ["-1"],
        "--teacher-epochs -1: must be an integer from 1 to 10,000; omit it for the preset's",
    ),
    (EXPERIMENT, "--seeds", ["0", "0"], "--seeds [0, 0]: values must be distinct"),
    (EXPERIMENT, "--resolutions", ["3"], "--resolutions 3: must be an integer >= 4"),
    (EXPERIMENT, "--resolutions", ["28", "28"], "--resolutions [28, 28]: values must be"),
    (EXPERIMENT, "--limit-train", ["0"], "--limit-train 0: must be an integer >= 1"),
    (EXPERIMENT, "--temperature", ["0"], "--temperature 0.0: must be a finite number > 0"),
    (EXPERIMENT, "--alpha", ["1.5"], "--alpha 1.5: must lie in [0, 1]"),
    (EXPERIMENT, "--alpha", ["-0.1"], "--alpha -0.1: must lie in [0, 1]"),
    (EXPERIMENT, "--feature-weight", ["-1"], "--feature-weight -1.0: must be a finite number >= 0"),
    (EXPERIMENT, "--val", ["64"], "--val 64: the validation split must hold 1..63"),
]


@pytest.mark.parametrize(
    ("base", "option", "values", "message"), BAD, ids=[f"{b[0]}{o}={v}" for b, o, v, _ in BAD]
)
def test_out_of_range_options_are_refused_before_anything_is_written(
    base, option, values, message, tmp_path, capsys
) -> None:
    out = tmp_path / "out"
    argv = _with([*base, "--out", str(out)], option, *values)
    assert commands.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fouroptics {base[0]}: error: ") and err.count("\n") == 1, err
    assert message in err, err
    written = {p.name for p in out.rglob("*")} if out.exists() else set()
    assert written <= {"run.json"}  # at most the run record: nothing trained, nothing to resume


def test_limits_above_the_dataset_are_refused_not_clamped(tmp_path: Path, capsys) -> None:
    x, y = render_glyphs(60, seed=1)
    img, lab = (x[:, 0] * 255).round().to(torch.uint8).numpy(), y.numpy().astype(np.uint8)
    for prefix, sl in (("train", slice(0, 40)), ("t10k", slice(40, 60))):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", img[sl])
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", lab[sl])
    argv = ["train", "--dataset", f"idx:{tmp_path}", "--out", str(tmp_path / "o"), "--threads",
            "1", "--device", "cpu", "--epochs", "1"]  # fmt: skip
    assert commands.main([*argv, "--limit-train", "41"]) == 2
    assert "--limit-train 41: the training split holds only 40 images" in capsys.readouterr().err
    assert commands.main([*argv, "--limit-test", "21"]) == 2
    assert "--limit-test 21: the test split holds only 20 images" in capsys.readouterr().err


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    paths = {"teacher": root / "t", "student": root / "s"}
    assert commands.main([*TEACHER, "--out", str(paths["teacher"])]) == 0
    assert commands.main([*TRAIN, "--out", str(paths["student"])]) == 0
    return paths


def test_intensity_is_the_default_detection(runs) -> None:
    _, config = load_run(runs["student"], torch.device("cpu"))
    assert config["model"]["detection"] == "intensity"
    assert config["settings"]["--detection"] == "intensity"


def test_distill_refuses_a_student_folder_or_another_dataset(runs, tmp_path, capsys) -> None:
    base = ["distill", "--out", str(tmp_path / "kd"), *TINY]
    assert commands.main([*base, "--teacher", str(runs["student"])]) == 2
    err = capsys.readouterr().err
    assert "holds an SCLC student (kind 'sclc'), not a classify teacher" in err
    x, y = render_glyphs(96, seed=2)
    img, lab = (x[:, 0] * 255).round().to(torch.uint8).numpy(), y.numpy().astype(np.uint8)
    for prefix, sl in (("train", slice(0, 64)), ("t10k", slice(64, 96))):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", img[sl])
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", lab[sl])
    other = _with([*base, "--teacher", str(runs["teacher"])], "--dataset", f"idx:{tmp_path}")
    assert commands.main(other) == 2
    err = capsys.readouterr().err
    assert "trained on dataset 'glyphs', this run uses 'idx:" in err and err.count("\n") == 1
    assert commands.main([*base, "--teacher", str(tmp_path / "none")]) == 2
    assert f"--teacher {tmp_path / 'none'}: " in capsys.readouterr().err
    assert not (tmp_path / "kd").exists()
    # the teacher's own dataset is accepted, and the student records which teacher it had
    assert commands.main([*base, "--teacher", str(runs["teacher"])]) == 0
    run = json.loads((tmp_path / "kd" / "run.json").read_text())
    assert run["settings"]["--teacher"] == str(runs["teacher"].resolve())
    assert len(run["settings"]["teacher sha256"]) == 64


def test_check_teacher_compares_image_size_and_classes(runs) -> None:
    _, config = load_run(runs["teacher"], torch.device("cpu"))

    class Data:
        name = "glyphs[val8]"  # a validation split of the same dataset is the same dataset
        train_x = torch.zeros(4, 1, 28, 28)
        num_classes = 10

    check_teacher(runs["teacher"], config, "classify", Data())
    Data.train_x = torch.zeros(4, 1, 56, 56)
    with pytest.raises(ConfigError, match=r"trained on images \[1, 28, 28\] with 10 classes"):
        check_teacher(runs["teacher"], config, "classify", Data())
    with pytest.raises(ConfigError, match="not a segment teacher"):
        check_teacher(runs["teacher"], config, "segment", Data())


def test_non_square_images_are_refused(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte",
            rng.integers(0, 256, (n, 28, 32), dtype=np.uint8),
        )
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 3).astype(np.uint8))
    for verb in (["train", "--model", "teacher"], ["experiment", "classify"]):
        argv = [*verb, "--dataset", f"idx:{tmp_path}", "--out", str(tmp_path / "o"),
                "--threads", "1", "--device", "cpu"]  # fmt: skip
        assert commands.main(argv) == 2
        assert "images are 28x32 pixels; the models take square images" in capsys.readouterr().err
