"""Output folders and machine-readable reports for CLI verbs: atomic JSON, PNG figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from fouroptics.io.atomic import atomic_write_bytes


def prepare_out(path: str | Path) -> Path:
    """Create ``path`` (and parents) and return it; refuse a path that is an existing file."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def refuse_existing(out: str | Path, outputs: tuple[str, ...], what: str, force: bool) -> None:
    """Refuse an ``--out`` folder that already holds one of a verb's ``outputs`` (file names)
    unless ``force``: one line naming the file; call it before any work or writing.

    Raises:
        ConfigError: ``--out DIR: holds <what> (<file>); pass --force ...``.
    """
    from fouroptics.errors import ConfigError

    if force:
        return
    found = [Path(out) / name for name in outputs if (Path(out) / name).exists()]
    if found:
        raise ConfigError(
            f"--out {out}: holds {what} ({found[0].name}); pass --force to overwrite it, or "
            "another --out"
        )


def write_json(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` as indented, strict JSON (numpy scalars/arrays converted).

    A NaN or infinite number (which strict JSON cannot hold) is written as null, and a
    top-level ``non_finite`` field says so: ``{"why": ..., "values": {dotted path: "nan" |
    "inf" | "-inf"}}`` (the first :data:`NON_FINITE_LISTED` of them)."""
    found: dict[str, str] = {}
    plain = _finite(payload, "", found)
    if found:
        listed = dict(list(found.items())[:NON_FINITE_LISTED])
        plain["non_finite"] = {
            "why": "these values were NaN or infinite (not a number, or a fit or ratio without "
            "a finite result) and are written as null: strict JSON holds neither"
            + (
                f"; {len(found)} in all, the first {len(listed)} listed"
                if len(found) > len(listed)
                else ""
            ),  # fmt: skip
            "values": listed,
        }
    text = json.dumps(plain, indent=2, allow_nan=False, sort_keys=False)
    return atomic_write_bytes(path, (text + "\n").encode())


#: how many non-finite values :func:`write_json` names
NON_FINITE_LISTED = 20


def _finite(obj: Any, where: str, found: dict[str, str]) -> Any:
    """``obj`` as plain JSON data, each non-finite float replaced by None (and noted in
    ``found`` under its dotted path)."""
    if isinstance(obj, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    if isinstance(obj, str | bool | int | type(None)):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        found[where] = "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
        return None
    return _finite(_jsonable(obj), where, found)


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, complex):
        return [obj.real, obj.imag]
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
