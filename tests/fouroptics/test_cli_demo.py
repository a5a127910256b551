from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fouroptics.cli import main
from fouroptics.report import write_json


def test_cli_help_lists_verbs_without_importing_them() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fouroptics.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for verb in ("demo", "train", "distill", "experiment", "compile", "calibrate", "simulate"):
        assert verb in out


def test_json_write_is_atomic(tmp_path) -> None:
    path = tmp_path / "r.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}  # the old file survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


ROOT = Path(__file__).resolve().parents[2]


def test_demo_system_check_writes_figure_and_summary(tmp_path: Path, capsys) -> None:
    """``demo --system``: only the convolution check of a system YAML, against scipy."""
    rc = main(
        [
            "demo",
            "--out",
            str(tmp_path),
            "--system",
            str(ROOT / "examples/systems/matched.yaml"),
            "--size",
            "96",
        ]
    )
    assert rc == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["relative_l2_error_vs_scipy_fftconvolve"] < 1e-4
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert str(tmp_path) in capsys.readouterr().out
    assert not (tmp_path / "report.md").exists()


def test_built_in_default_system_is_the_realistic_example() -> None:
    from fouroptics.commands.demo_convolution import DEFAULT_SYSTEM
    from fouroptics.optics import FourFSystem

    assert FourFSystem.from_dict(DEFAULT_SYSTEM) == FourFSystem.from_yaml(
        ROOT / "examples/systems/realistic.yaml"
    )
