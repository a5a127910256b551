"""Run folders: one run at a time per ``--out`` folder.

:func:`lock_run_folder` takes an exclusive ``fcntl.flock`` on ``<out>/.fouroptics.lock`` (which
records the holder's pid, host, verb and start time) for the whole run; a second run on the same
folder is refused at once with :class:`RunFolderError` naming the folder and the holder. The
kernel drops the lock when its process dies, so a killed run leaves no stale lock. On taking the
lock, the temporary files that :mod:`fouroptics.io.atomic` leaves when a run is killed mid-write
are removed.

The command line takes the lock in one place (:func:`fouroptics.cli.main`, through
:func:`run_folder_lock`), for every verb with an ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from fouroptics.errors import RunFolderError
from fouroptics.io.atomic import TMP_PATTERN

LOCK_NAME = ".fouroptics.lock"


@contextlib.contextmanager
def lock_run_folder(out: str | Path, verb: str = "") -> Iterator[Path]:
    """Hold ``out`` (created if missing) for this process while the body runs.

    Args:
        out: the run folder.
        verb: what runs there (recorded in the lock file and shown to a refused second run).

    Yields:
        the folder, as a Path.

    Raises:
        RunFolderError: ``out`` is a file, cannot be created, or another run holds it (the
            message names the folder and the holder's pid, host and verb).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise RunFolderError(f"--out {out}: cannot use this folder ({exc.strerror})") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderError(
                f"--out {out}: in use by another run ({_holder(fd)}); wait for it to finish "
                "or choose another folder"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "verb": verb,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        remove_orphan_temporaries(out)
        yield out
    finally:
        os.close(fd)  # releases the flock; the file stays (unlinking it would race)


def run_folder_lock(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """The lock for a parsed command line: :func:`lock_run_folder` on ``args.out`` when the
    verb has one, and only in the process of rank 0 under torchrun; else a no-op."""
    out = getattr(args, "out", None)
    if out is None or os.environ.get("RANK", "0") != "0":
        return contextlib.nullcontext()
    return lock_run_folder(out, getattr(args, "verb", "") or "")


def remove_orphan_temporaries(out: Path) -> list[Path]:
    """Delete the atomic-write temporaries under ``out`` (not under nested run folders, which
    have their own lock); returns what was removed."""
    removed: list[Path] = []
    for root, dirs, files in os.walk(out):
        here = Path(root)
        dirs[:] = [d for d in dirs if not (here / d / LOCK_NAME).exists()]
        for name in files:
            if TMP_PATTERN.match(name):
                with contextlib.suppress(FileNotFoundError):
                    (here / name).unlink()
                    removed.append(here / name)
    return removed


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "a process that is just starting"
    verb = f" '{info['verb']}'" if info.get("verb") else ""
    return f"pid {info['pid']} on {info.get('host', '?')}{verb} since {info.get('started', '?')}"
