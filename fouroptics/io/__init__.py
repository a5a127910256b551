"""Files: HDF5 containers (verified before parsing), the one YAML loader, run-folder locks.

Names are imported on first use, so ``fouroptics.cli`` (which needs only the run-folder lock)
starts without numpy or h5py.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "FileFormatError": "fouroptics.errors",
    "file_sha256": "fouroptics.io.digest",
    "read_h5": "fouroptics.io.h5",
    "write_h5": "fouroptics.io.h5",
    "lock_run_folder": "fouroptics.io.run_folder",
    "load_yaml": "fouroptics.io.yaml_load",
    "parse_yaml": "fouroptics.io.yaml_load",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'fouroptics.io' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
