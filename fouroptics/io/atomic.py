"""Atomic file replacement: write a temporary file in the same folder, fsync, rename.

Temporary files are named ``.<name>.<8 random characters>.tmp`` (see :data:`TMP_PATTERN`); a
run killed mid-write can leave one behind, which :func:`fouroptics.io.run_folder.lock_run_folder`
removes when the next run takes the folder. The final file gets the mode a plain ``open()``
would give it (0666 minus the umask), not mkstemp's 0600.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Names of the temporary files made by :func:`atomic_target`.
TMP_PATTERN = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched: a crash never
    leaves half a file, and an existing file is only ever replaced by a complete one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask
