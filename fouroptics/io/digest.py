"""File digests: the one home of "the SHA-256 of a file's bytes" (a bundle's model, a
calibration's bench YAML)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits (OSError when it cannot be read)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
