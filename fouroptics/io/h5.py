"""HDF5 containers with provenance and integrity: the one way fouroptics writes binary files.

Every file carries root attributes ``format`` (e.g. "fouroptics.MaskBundle"),
``format_version`` (int), ``fouroptics_version``, ``created`` (ISO 8601, UTC), ``system`` (the
system configuration as YAML text, or "") and ``sha256`` of the payload. The payload is a
nested mapping of numpy arrays (HDF5 datasets; nested mappings become groups) plus
JSON-compatible scalars (HDF5 attributes of their group).

Integrity: the file starts with a 512-byte HDF5 user block holding a header
(:mod:`fouroptics.io.header`: magic, format, version, size and the sha256 of every other byte of
the file), written after the HDF5 file is closed. :func:`read_h5` checks that header in plain
Python before the HDF5 library parses a single byte, so a corrupt, truncated or edited file (its
attributes, system YAML and ``created`` included) is refused with :class:`FileFormatError` and
never reaches the C library; any exception out of h5py while reading becomes one too.

Writes go to a temporary file in the destination folder, are flushed, then renamed over the
destination: a crash or an exception never leaves a half-written file, and an existing file is
only replaced by a complete one. Reads check, in order: the header and the whole-file hash, the
file opens as HDF5, the format is the expected one, its version is one this code reads, and the
payload hash matches; each failure raises :class:`FileFormatError` naming the file and what is
wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics import __version__
from fouroptics.errors import FileFormatError
from fouroptics.io.atomic import atomic_target
from fouroptics.io.header import USERBLOCK_SIZE, seal, verify

Payload = Mapping[str, Any]


def write_h5(
    path: str | Path,
    fmt: str,
    version: int,
    payload: Payload,
    system_yaml: str = "",
) -> Path:
    """Write ``payload`` to ``path`` atomically with provenance attributes.

    Args:
        path: destination (.h5); its folder must exist.
        fmt: format name, e.g. "fouroptics.MaskBundle".
        version: integer format version.
        payload: mapping of name -> numpy array | nested mapping | JSON-compatible scalar/list.
        system_yaml: the system configuration as YAML text (e.g. ``FourFSystem.to_yaml()``).

    Returns:
        The path written.
    """
    import h5py

    path = Path(path)
    _check_payload(payload, "payload")
    digest = payload_sha256(payload)
    with atomic_target(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=USERBLOCK_SIZE) as f:
            f.attrs["format"] = fmt
            f.attrs["format_version"] = int(version)
            f.attrs["fouroptics_version"] = __version__
            f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            f.attrs["system"] = system_yaml
            f.attrs["sha256"] = digest
            _write_group(f.create_group("payload"), payload)
        seal(tmp, fmt, int(version))
    return path


def read_h5(path: str | Path, fmt: str, max_version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read and verify a file written by :func:`write_h5`.

    Args:
        path: the file.
        fmt: the expected format name.
        max_version: the newest format version this code understands.

    Returns:
        (payload, attrs): the payload as nested dicts of numpy arrays / scalars, and the root
        attributes (format, format_version, fouroptics_version, created, system, sha256).

    Raises:
        FileFormatError: naming the file and the problem (missing, unreadable (permissions), no
            fouroptics header, foreign format, newer version, truncated, checksum mismatch,
            unreadable HDF5).
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        verify(path, fmt, max_version)  # plain Python: nothing corrupt reaches the HDF5 library
    except OSError as exc:  # permission denied, an I/O error
        raise FileFormatError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        payload, attrs = _read_verified(path, fmt, max_version)
    except FileFormatError:
        raise
    except Exception as exc:  # h5py can raise anything on a damaged file
        raise FileFormatError(
            f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})"
        ) from exc
    if payload_sha256(payload) != attrs.get("sha256"):
        raise FileFormatError(f"{path}: payload checksum mismatch: the file is corrupt or edited")
    return payload, attrs


def _read_verified(path: Path, fmt: str, max_version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse a file whose header and hash :func:`verify` accepted."""
    import h5py

    with h5py.File(path, "r") as f:
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
        found = attrs.get("format")
        if found != fmt:
            what = f"format {found!r}" if found is not None else "no 'format' attribute"
            raise FileFormatError(f"{path}: expected a {fmt} file, found {what}")
        version = attrs.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise FileFormatError(f"{path}: bad format_version {version!r}")
        if version > max_version:
            raise FileFormatError(
                f"{path}: {fmt} version {version} is newer than this fouroptics reads "
                f"(<= {max_version}); upgrade fouroptics"
            )
        if "payload" not in f:
            raise FileFormatError(f"{path}: has no payload group (truncated or foreign file)")
        return _read_group(f["payload"]), attrs


def payload_sha256(payload: Payload) -> str:
    """SHA-256 over the payload's names, dtypes, shapes, bytes and scalar values, in key order."""
    h = hashlib.sha256()
    _hash_into(h, payload, "")
    return h.hexdigest()


def _hash_into(h: Any, node: Payload, prefix: str) -> None:
    for key in sorted(node):
        value = node[key]
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            h.update(f"group:{name};".encode())
            _hash_into(h, value, name)
        elif isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value)
            h.update(f"array:{name}:{arr.dtype.str}:{arr.shape};".encode())
            h.update(arr.tobytes())
        else:
            h.update(f"value:{name}:{json.dumps(value, sort_keys=True)};".encode())


def _check_payload(node: Payload, where: str) -> None:
    for key, value in node.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"{where}: key {key!r} must be a non-empty string without '/'")
        if isinstance(value, Mapping):
            _check_payload(value, f"{where}/{key}")
        elif isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc":
                raise ValueError(f"{where}/{key}: dtype {value.dtype} cannot be stored")
        else:
            try:
                json.dumps(value)
            except TypeError as exc:
                raise ValueError(f"{where}/{key}: {type(value).__name__} is not storable") from exc


def _write_group(group: Any, node: Payload) -> None:
    for key, value in node.items():
        if isinstance(value, Mapping):
            _write_group(group.create_group(key), value)
        elif isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        else:
            group.attrs[key] = json.dumps(value)


def _read_group(group: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in group.items():
        out[key] = _read_group(item) if hasattr(item, "keys") else item[()]
        if isinstance(out[key], np.generic):
            out[key] = np.asarray(out[key])
    for key, value in group.attrs.items():
        out[key] = json.loads(_plain(value))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
