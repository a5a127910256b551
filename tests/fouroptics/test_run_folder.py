"""Run folders: one run per --out folder, orphan temporaries cleaned, files honour the umask."""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fouroptics.cli import main
from fouroptics.errors import RunFolderError
from fouroptics.io.atomic import atomic_write_bytes
from fouroptics.io.run_folder import LOCK_NAME, lock_run_folder, run_folder_lock

ROOT = Path(__file__).resolve().parents[2]
SMALL_SYSTEM = """name: {name}
wavelength: 532 nm
f1: 100 mm
f2: 100 mm
input_slm: {{shape: [64, 64], pitch: 8 um}}
fourier_slm: {{shape: [64, 64], pitch: matched}}
camera: {{shape: [64, 64], pitch: matched}}
"""


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def test_a_second_lock_on_the_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with lock_run_folder(out, "demo"):
        info = json.loads((out / LOCK_NAME).read_text())
        assert info["pid"] == os.getpid() and info["verb"] == "demo"
        with pytest.raises(RunFolderError) as err, lock_run_folder(out, "train"):
            pass
        assert str(out) in str(err.value) and f"pid {os.getpid()}" in str(err.value)
        assert "'demo'" in str(err.value)
    with lock_run_folder(out, "train"):  # released on exit
        pass


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunFolderError, match="exists and is not a folder"):
        with lock_run_folder(tmp_path / "f"):
            pass


def test_taking_the_lock_removes_orphan_temporaries_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "teacher" / "seed0").mkdir(parents=True)
    (out / "other_run").mkdir()
    orphans = [
        out / ".model.pt.k2j4_x9a.tmp",
        out / "teacher" / "seed0" / ".checkpoint.pt.abcdefgh.tmp",
    ]
    kept = [
        out / "results.json",
        out / ".notes.tmp",  # not an atomic-write name
        out / "other_run" / LOCK_NAME,  # a nested run folder cleans itself
        out / "other_run" / ".model.pt.abcdefgh.tmp",
    ]
    for p in orphans + kept:
        p.write_bytes(b"x" * 10)
    with lock_run_folder(out):
        pass
    assert not any(p.exists() for p in orphans)
    assert all(p.exists() for p in kept)


def test_atomic_writes_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = atomic_write_bytes(tmp_path / "a.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_only_rank_zero_locks_under_torchrun(tmp_path: Path, monkeypatch) -> None:
    args = argparse.Namespace(out=tmp_path / "run", verb="train")
    monkeypatch.setenv("RANK", "1")
    with run_folder_lock(args):
        assert not (tmp_path / "run").exists()
    monkeypatch.setenv("RANK", "0")
    with run_folder_lock(args):
        assert (tmp_path / "run" / LOCK_NAME).exists()
    with run_folder_lock(argparse.Namespace(verb="x")):  # no --out: nothing to lock
        pass


def test_cli_refuses_a_locked_folder_in_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    with lock_run_folder(out, "experiment"):
        assert main(["demo", "--out", str(out), "--size", "8"]) == 2
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing written
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fouroptics demo: error: --out")
    assert str(out) in err[0] and f"pid {os.getpid()}" in err[0]
    assert not out.exists()  # the holder created the folder and left it empty: removed


def test_the_lock_file_goes_with_the_run_and_a_new_run_takes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with lock_run_folder(out, "a"):
        assert (out / LOCK_NAME).exists()
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # lock gone, folder kept
    with lock_run_folder(out, "b"), pytest.raises(RunFolderError, match="in use"):
        with lock_run_folder(out, "c"):
            pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = (
        "import sys, time\nfrom fouroptics.io.run_folder import lock_run_folder\n"
        f"with lock_run_folder({str(out)!r}, 'train'):\n"
        "    print('locked', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env())
    try:
        assert proc.stdout.readline().strip() == b"locked"
        with pytest.raises(RunFolderError, match=f"pid {proc.pid}"), lock_run_folder(out):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with lock_run_folder(out, "demo"):  # the kernel released it with the process
        pass


def _write_fifo(path: Path, text: str, timeout: float = 60.0) -> bool:
    """Write ``text`` into a FIFO once a reader has it open; False if no reader came."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return True
    return False


def test_two_demo_runs_on_one_folder_one_wins_the_other_exits_2(tmp_path: Path) -> None:
    """Two real `fouroptics demo` processes started together on one --out folder. Each reads
    its system YAML from a FIFO, so the run that takes the lock blocks there, holding it, until
    the test feeds it: the race is real, its outcome deterministic."""
    out = tmp_path / "out"
    fifos = {}
    procs = {}
    for name in ("run_a", "run_b"):
        fifos[name] = tmp_path / f"{name}.yaml"
        os.mkfifo(fifos[name])
    for name in ("run_a", "run_b"):
        cmd = [sys.executable, "-m", "fouroptics.cli", "demo", "--out", str(out)]
        cmd += ["--system", str(fifos[name]), "--size", "32"]
        procs[name] = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT
        )
    try:
        # The loser exits at once; the winner waits on its FIFO.
        end = time.monotonic() + 60
        while all(p.poll() is None for p in procs.values()) and time.monotonic() < end:
            time.sleep(0.05)
        losers = [n for n, p in procs.items() if p.poll() is not None]
        assert len(losers) == 1, "neither run was refused while the other held the folder"
        loser = losers[0]
        winner = "run_b" if loser == "run_a" else "run_a"
        assert _write_fifo(fifos[winner], SMALL_SYSTEM.format(name=winner))
        w_out, w_err = procs[winner].communicate(timeout=300)
        l_out, l_err = procs[loser].communicate(timeout=30)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert procs[winner].returncode == 0, w_err
    assert procs[loser].returncode == 2
    lines = l_err.strip().splitlines()
    assert len(lines) == 1 and "in use by another run" in lines[0], l_err
    assert str(out) in lines[0] and f"pid {procs[winner].pid}" in lines[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["system"]["name"] == winner
    assert sorted(p.name for p in out.iterdir()) == ["demo.png", "summary.json"]  # lock released
