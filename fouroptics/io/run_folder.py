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
    created = not out.exists()
    lock = out / LOCK_NAME
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"--out {out}: cannot use this folder ({exc.strerror})") from exc
    fd = _acquire(out, lock)
    try:
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
        # Unlink while still holding the flock: a waiter that opened the old file re-checks the
        # inode after locking (see _acquire) and starts over on the new one, so no two runs
        # ever hold the folder. A folder this run created and left empty is removed too.
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only succeeds when empty


def _acquire(out: Path, lock: Path) -> int:
    """Open and flock ``lock``, making sure the locked file is still the one at its path."""
    for _ in range(100):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise RunFolderError(f"--out {out}: cannot use this folder ({exc.strerror})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise RunFolderError(
                f"--out {out}: in use by another run ({holder}); wait for it to finish "
                "or choose another folder"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder unlinked it between our open and our flock
    raise RunFolderError(f"--out {out}: could not take the folder's lock (it keeps changing)")


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


def _holder(fd: int, wait: float = 1.0) -> str:
    """Who holds the lock, from the lock file's JSON; the holder writes it just after taking
    the lock, so an empty or partial file is read again for up to ``wait`` seconds."""
    end = time.monotonic() + wait
    while True:
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except (OSError, ValueError):
            info = {}
        if (isinstance(info, dict) and "pid" in info) or time.monotonic() > end:
            break
        time.sleep(0.02)
    if not isinstance(info, dict) or "pid" not in info:
        return "a process that is just starting"
    verb = f" '{info['verb']}'" if info.get("verb") else ""
    return f"pid {info['pid']} on {info.get('host', '?')}{verb} since {info.get('started', '?')}"
