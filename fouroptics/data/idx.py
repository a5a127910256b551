"""Reader (and a tiny writer, for tests and tools) of MNIST-format IDX files, gzip or raw.

IDX layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), the number of dimensions, then one big-endian uint32 per
dimension, then the data in big-endian C order.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from fouroptics.errors import DataError

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


class IDXError(DataError):
    """A missing, truncated or malformed IDX file."""


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise IDXError(f"IDX file not found: {path}")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        kind = "corrupt gzip stream" if path.name.endswith(".gz") else "read error"
        raise IDXError(f"cannot read IDX file {path} ({kind}): {exc}") from exc


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` decompressed by name) into an array of its native shape.

    Returns a C-ordered array in native byte order, e.g. uint8 ``[N, 28, 28]`` for MNIST
    images and uint8 ``[N]`` for labels. Raises :class:`IDXError` naming the problem for a
    missing file, a wrong magic number, an unknown type code, or a size mismatch.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise IDXError(
            f"{path}: wrong magic number 0x{raw[:4].hex()} (expected 0x0000 then a type code "
            f"in {[hex(c) for c in IDX_DTYPES]} and the number of dimensions)"
        )
    if ndim == 0:
        raise IDXError(f"{path}: header says 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path}: truncated header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on hostile headers
    got = len(raw) - header
    if got != expected:
        raise IDXError(
            f"{path}: corrupt or truncated data: header shape {shape} needs {expected} bytes, "
            f"file holds {got}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip when the name ends in ``.gz``); returns the path."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise IDXError(f"dtype {array.dtype} has no IDX type code; allowed: {list(codes)}")
    header = struct.pack(">HBB", 0, codes[native], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(native.newbyteorder(">")).tobytes()
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path
