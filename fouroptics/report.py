"""Output folders and machine-readable reports for CLI verbs: atomic JSON, PNG figures."""

from __future__ import annotations

import json
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


def write_json(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` as indented JSON (numpy scalars/arrays converted)."""
    text = json.dumps(payload, indent=2, default=_jsonable, sort_keys=False)
    return atomic_write_bytes(path, (text + "\n").encode())


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
