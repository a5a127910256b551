"""The integrity header of fouroptics HDF5 files, kept in the file's 512-byte user block.

HDF5 lets a file start with a "user block" that the library never reads; fouroptics writes the
HDF5 file with ``userblock_size=512`` and, once it is closed, fills that block with::

    MAGIC                    b"\\x89FOUROPTICS\\r\\n\\x1a\\n" (15 bytes)
    format <name>\\n          e.g. "format fouroptics.MaskBundle"
    version <int>\\n
    size <bytes>\\n           the length of the whole file
    sha256 <64 hex>\\n        over the header lines above (magic included) and every byte
                             after the user block
    NUL padding to 512 bytes

Every byte of the file is covered: the magic and padding are compared, the header lines and the
HDF5 part are hashed. :func:`verify` checks all of it in plain Python, so a damaged file is
refused before the HDF5 library parses any of it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from fouroptics.errors import FileFormatError

USERBLOCK_SIZE = 512
MAGIC = b"\x89FOUROPTICS\r\n\x1a\n"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_LINES = re.compile(
    rb"format ([!-~]{1,200})\nversion ([0-9]{1,9})\nsize ([0-9]{1,15})\n(sha256 ([0-9a-f]{64})\n)"
)
_CHUNK = 1 << 20


def seal(path: str | Path, fmt: str, version: int) -> None:
    """Write the header into the (zeroed) user block of the closed HDF5 file at ``path``."""
    if not re.fullmatch(r"[!-~]{1,200}", fmt):
        raise ValueError(f"format name {fmt!r}: 1-200 printable ASCII characters, no spaces")
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < USERBLOCK_SIZE or fh.read(USERBLOCK_SIZE).strip(b"\0"):
            raise ValueError(f"{path}: no empty {USERBLOCK_SIZE}-byte user block to seal")
        lines = MAGIC + f"format {fmt}\nversion {int(version)}\nsize {size}\n".encode()
        digest = _digest(fh, lines)
        block = lines + f"sha256 {digest}\n".encode()
        fh.seek(0)
        fh.write(block.ljust(USERBLOCK_SIZE, b"\0"))


def verify(path: str | Path, fmt: str, max_version: int) -> int:
    """Check the header and the hash of the file at ``path``; return its format version.

    Raises:
        FileFormatError: naming the file and what is wrong: no fouroptics header, a damaged
            header, truncated or extended, checksum mismatch, another format, a newer version.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        block = fh.read(USERBLOCK_SIZE)
        if not block.startswith(MAGIC):
            raise FileFormatError(f"{path}: {_what_instead(block, size)}")
        if len(block) < USERBLOCK_SIZE:
            raise FileFormatError(
                f"{path}: truncated: {size} bytes, shorter than the {USERBLOCK_SIZE}-byte header"
            )
        match = _LINES.match(block, len(MAGIC))
        if match is None or block[match.end() :].strip(b"\0"):
            raise FileFormatError(f"{path}: the fouroptics header is damaged (file corrupt)")
        declared = int(match.group(3))
        if declared != size:
            kind = "truncated" if size < declared else "extended"
            raise FileFormatError(
                f"{path}: {kind}: {size} bytes, the header says {declared} (file corrupt)"
            )
        if _digest(fh, block[: match.start(4)]) != match.group(5).decode():
            raise FileFormatError(f"{path}: checksum mismatch: the file is corrupt or edited")
    found, version = match.group(1).decode(), int(match.group(2))
    if found != fmt:
        raise FileFormatError(f"{path}: expected a {fmt} file, found format {found!r}")
    if version < 1:
        raise FileFormatError(f"{path}: bad format_version {version!r}")
    if version > max_version:
        raise FileFormatError(
            f"{path}: {fmt} version {version} is newer than this fouroptics reads "
            f"(<= {max_version}); upgrade fouroptics"
        )
    return version


def _digest(fh, lines: bytes) -> str:
    """sha256 of ``lines`` followed by every byte of ``fh`` after the user block."""
    h = hashlib.sha256(lines)
    fh.seek(USERBLOCK_SIZE)
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _what_instead(block: bytes, size: int) -> str:
    if size == 0:
        return "empty file; expected a fouroptics HDF5 file"
    if MAGIC.startswith(block):
        return f"truncated: {size} bytes, shorter than the {USERBLOCK_SIZE}-byte header"
    if block.startswith(HDF5_SIGNATURE):
        return (
            "an HDF5 file without the fouroptics header (not written by fouroptics.io.write_h5, "
            "or edited by another program); it cannot be verified"
        )
    return "not a fouroptics HDF5 file (no fouroptics header: corrupt or another kind of file)"
