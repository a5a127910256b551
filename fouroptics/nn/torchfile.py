"""Checksummed torch files (``model.pt``, ``checkpoint.pt``): written atomically, verified on load.

Layout: one ASCII header line ``fouroptics-torch 1 sha256 <64 hex digits>\\n``, then the bytes
``torch.save`` wrote. :func:`load_verified` checks the header and the sha256 of the payload
before unpickling anything, and unpickles with ``torch.load(weights_only=True)`` (tensors,
numbers, strings, lists and dicts only), so a truncated, zeroed, edited or foreign file raises
one :class:`~fouroptics.errors.FileFormatError` naming the file instead of loading wrong weights.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import torch

from fouroptics.errors import FileFormatError
from fouroptics.io.atomic import atomic_write_bytes

MAGIC = b"fouroptics-torch"
VERSION = 1
_HEADER_MAX = 128  # bytes: the header line is 91 bytes long


def save_verified(obj: Any, path: str | Path) -> str:
    """``torch.save(obj)`` into ``path`` atomically behind a sha256 header; returns the digest."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    header = b"%s %d sha256 %s\n" % (MAGIC, VERSION, digest.encode())
    atomic_write_bytes(path, header + payload)
    return digest


def read_digest(path: str | Path) -> str:
    """The sha256 a file's header states (not verified: see :func:`load_verified`)."""
    return _parse_header(Path(path), _read_head(Path(path)))[0]


def _read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEADER_MAX)
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _parse_header(path: Path, raw: bytes) -> tuple[str, int]:
    """``(digest, header length)``; raises FileFormatError for a missing or bad header."""
    end = raw.find(b"\n", 0, _HEADER_MAX)
    parts = raw[:end].split(b" ") if end > 0 else []
    if len(parts) != 4 or parts[0] != MAGIC or parts[2] != b"sha256":
        raise FileFormatError(
            f"{path}: not a fouroptics model or checkpoint (no '{MAGIC.decode()}' header; files "
            "written before checksums existed must be retrained)"
        )
    if parts[1] != str(VERSION).encode():
        raise FileFormatError(
            f"{path}: format version {parts[1].decode(errors='replace')!r} is not known "
            f"(this fouroptics reads version {VERSION})"
        )
    digest = parts[3].decode(errors="replace")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise FileFormatError(f"{path}: malformed sha256 in the header: {digest!r}")
    return digest, end + 1


def load_verified(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a file written by :func:`save_verified` after checking its sha256.

    Raises:
        FileFormatError: the file is missing, unreadable, has no or a bad header, its payload
            does not match the stated sha256 (truncated, zeroed, edited), or it holds objects
            other than tensors and plain containers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    digest, start = _parse_header(path, raw[:_HEADER_MAX])
    payload = memoryview(raw)[start:]
    actual = hashlib.sha256(payload).hexdigest()
    if actual != digest:
        raise FileFormatError(
            f"{path}: corrupt: sha256 of its {len(payload)} payload bytes is {actual[:16]}..., "
            f"the header states {digest[:16]}... (truncated, overwritten or edited)"
        )
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as exc:  # the digest matched: only a foreign payload gets here
        raise FileFormatError(f"{path}: payload cannot be read as torch data: {exc}") from exc
