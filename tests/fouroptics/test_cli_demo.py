from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
