"""Progress is for terminals: bars and compile's stage lines are drawn when stderr is a
terminal, and a log (stderr a file or pipe) gets neither (it used to get a line per redraw)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from fouroptics.cli import main
from fouroptics.progress import Stages, show_bars

MATCHED = str(Path(__file__).resolve().parents[2] / "examples" / "systems" / "matched.yaml")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_only_on_a_terminal_and_when_asked() -> None:
    assert show_bars(True, Terminal()) and not show_bars(False, Terminal())
    assert not show_bars(True, io.StringIO())
    log = io.StringIO()
    Stages("compile", stream=log)("loading")
    assert log.getvalue() == ""


def test_compile_prints_a_line_per_stage_on_a_terminal_only(tmp_path, capsys, monkeypatch) -> None:
    np.save(tmp_path / "k.npy", np.ones((1, 3, 3)))
    argv = ["compile", "--kernels", str(tmp_path / "k.npy"), "--image-size", "8"]
    argv += ["--system", MATCHED]
    assert main([*argv, "--out", str(tmp_path / "log")]) == 0
    assert capsys.readouterr().err == ""  # a log: no progress
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main([*argv, "--out", str(tmp_path / "term")]) == 0
    lines = term.getvalue().splitlines()
    assert [line.split("] ", 1)[1].split(" ", 1)[0] for line in lines] == [
        "compiling",
        "2",
        "writing",
    ], lines
    assert all(line.startswith("compile: [") for line in lines)
