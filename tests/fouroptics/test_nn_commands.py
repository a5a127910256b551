"""The train / distill / experiment verbs end to end on tiny runs, and a 2-process torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fouroptics.data import render_glyphs, write_idx
from fouroptics.nn import commands
from fouroptics.nn.train import load_model


def _run(argv: list[str]) -> int:
    return commands.main(argv)


def test_experiment_classify_writes_results_and_resumes(tmp_path: Path, capsys) -> None:
    out = tmp_path / "exp"
    argv = ["experiment", "classify", "--dataset", "glyphs", "--out", str(out),
            "--limit-train", "384", "--limit-test", "128", "--teacher-epochs", "1",
            "--student-epochs", "1", "--seeds", "0", "1", "--threads", "2"]  # fmt: skip
    assert _run(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "classify" and res["dataset"] == "glyphs"
    for name in ("teacher", "sclc", "sclc_kd"):
        m = res["models"][name]
        assert len(m["test_accuracy"]) == 2 and len(m["train_seconds"]) == 2
        assert all(0.0 <= a <= 1.0 for a in m["test_accuracy"])
        assert (out / name / "seed1" / "model.pt").is_file()
        assert (out / name / "seed1" / "config.json").is_file()
    assert (
        res["models"]["teacher"]["electronic_macs"] > 10 * res["models"]["sclc"]["electronic_macs"]
    )
    assert (out / "curves.png").stat().st_size > 0 and (out / "confusion.png").is_file()
    assert "| sclc_kd |" in (out / "results.md").read_text()
    capsys.readouterr()
    assert _run([*argv, "--resume"]) == 0
    log = capsys.readouterr().out
    assert log.count("finished earlier") == 6 and "epoch 1/1" not in log
    assert (
        json.loads((out / "results.json").read_text())["models"]["sclc"]["test_accuracy"]
        == (res["models"]["sclc"]["test_accuracy"])
    )


def test_experiment_segment_reports_miou(tmp_path: Path) -> None:
    out = tmp_path / "seg"
    argv = ["experiment", "segment", "--dataset", "glyphs", "--out", str(out),
            "--limit-train", "96", "--limit-test", "32", "--teacher-epochs", "1",
            "--student-epochs", "1", "--threads", "2", "--detection", "intensity"]  # fmt: skip
    assert _run(argv) == 0
    res = json.loads((out / "results.json").read_text())
    for name in ("teacher", "sclc", "sclc_kd"):
        m = res["models"][name]
        assert 0.0 <= m["test_miou"][0] <= 1.0 and 0.0 <= m["test_pixel_accuracy"][0] <= 1.0
    assert (out / "examples.png").is_file()


def test_experiment_resolution_sweep(tmp_path: Path) -> None:
    out = tmp_path / "res"
    argv = ["experiment", "resolution", "--dataset", "glyphs", "--out", str(out),
            "--limit-train", "128", "--limit-test", "64", "--teacher-epochs", "1",
            "--student-epochs", "1", "--resolutions", "28", "56", "--threads", "2"]  # fmt: skip
    assert _run(argv) == 0
    m = json.loads((out / "results.json").read_text())["models"]
    assert set(m) == {"teacher@28", "sclc_kd@28", "teacher@56", "sclc_kd@56"}
    # conv MACs grow ~4x with 2x resolution
    assert m["teacher@56"]["electronic_macs"] > 3 * m["teacher@28"]["electronic_macs"]
    assert (out / "resolution.png").is_file()


def test_train_then_distill(tmp_path: Path, capsys) -> None:
    base = ["--dataset", "glyphs", "--epochs", "2", "--threads", "2", "--limit-train", "512",
            "--limit-test", "256"]  # fmt: skip
    assert (
        _run(
            [
                "train",
                "--model",
                "teacher",
                "--width",
                "4",
                "8",
                "--out",
                str(tmp_path / "t"),
                *base,
            ]
        )
        == 0
    )
    assert (
        _run(
            [
                "distill",
                "--teacher",
                str(tmp_path / "t"),
                "--out",
                str(tmp_path / "s"),
                "-T",
                "4",
                *base,
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["verb"] == "distill" and summary["final"]["accuracy"] > 0.3


def test_unknown_dataset_gives_a_clear_error(tmp_path: Path, capsys) -> None:
    code = _run(["experiment", "classify", "--dataset", "nope", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_torchrun_two_processes_share_the_data(tmp_path: Path) -> None:
    x, y = render_glyphs(320, seed=5)
    folder = tmp_path / "idx"
    folder.mkdir()
    img = (x[:, 0] * 255).round().to(torch.uint8).numpy()
    lab = y.numpy().astype(np.uint8)
    write_idx(folder / "train-images-idx3-ubyte", img[:256])
    write_idx(folder / "train-labels-idx1-ubyte", lab[:256])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", img[256:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", lab[256:])
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "fouroptics.nn.commands", "train", "--model", "sclc", "--dataset",
           f"idx:{folder}", "--out", str(out), "--epochs", "2", "--batch-size", "64",
           "--threads", "1", "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, state = load_model(out, torch.device("cpu"))
    assert state["history"]["samples_per_rank"] == 128  # 256 images over 2 ranks
    assert state["history"]["epoch"] == [1, 2]
    assert proc.stdout.count("epoch 2/2") == 1  # only rank 0 logs


@pytest.mark.data
def test_mnist_dataset_through_the_cli(tmp_path: Path) -> None:
    root = os.environ.get("FOUROPTICS_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("FOUROPTICS_DATA/mnist not available")
    argv = ["train", "--dataset", "mnist", "--epochs", "2", "--out", str(tmp_path),
            "--threads", "2", "--limit-train", "2000", "--limit-test", "1000"]  # fmt: skip
    assert _run(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final"]["accuracy"] > 0.8
