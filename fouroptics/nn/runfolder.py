"""A training run's folder: the settings that define the run (``run.json``), and the checks that
keep one folder to one run.

``run.json`` holds the verb and its *settings*: a flat mapping from the option's name as the
user types it (``--detection``, ``--epochs``, ``preset student.epochs``) to its value. A new run
refuses a folder that already holds a run; ``--resume`` refuses when any setting differs and
lists each difference. Training loops make the same check against their checkpoint
(:func:`differences` on the model and training configs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fouroptics.errors import RunFolderError
from fouroptics.report import write_json

RUN_FILE = "run.json"
FORMAT = "fouroptics-run"
#: files (or ``*/seed*/`` model files of an experiment) that mark a folder as holding a run.
RUN_MARKERS = ("run.json", "model.pt", "checkpoint.pt", "summary.json", "results.json")
FINISHED_MARKERS = ("model.pt", "results.json")


def normalize(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples -> lists, paths -> strings)."""
    return json.loads(json.dumps(value, default=str))


def flatten(prefix: str, mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"<prefix>a.b": 1}`` (for preset blocks)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(flatten(f"{prefix}{key}.", value))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differences(stored: Mapping[str, Any], asked: Mapping[str, Any]) -> list[str]:
    """``"<key>: stored <v>, asked <w>"`` for each key whose value differs (missing = absent)."""
    stored, asked = normalize(dict(stored)), normalize(dict(asked))
    out = []
    for key in list(stored) + [k for k in asked if k not in stored]:
        old, new = stored.get(key, "(absent)"), asked.get(key, "(absent)")
        if old != new:
            out.append(f"{key}: stored {old!r}, asked {new!r}")
    return out


def run_files(out: Path) -> list[Path]:
    """The run marker files in ``out`` and in its ``<model>/seed<k>/`` folders."""
    if not out.is_dir():
        return []
    found = [out / m for m in RUN_MARKERS if (out / m).exists()]
    for name in ("model.pt", "checkpoint.pt"):
        found += sorted(out.glob(f"*/seed*/{name}"))
    return found


def read_manifest(out: Path) -> dict[str, Any] | None:
    """``out/run.json`` as a dict, None when absent; RunFolderError when unreadable."""
    path = out / RUN_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable run record ({exc}); use another --out") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunFolderError(f"{path}: not a fouroptics run record; use another --out")
    if not isinstance(data.get("settings"), dict):
        raise RunFolderError(f"{path}: run record without settings; use another --out")
    return data


def check_folder(out: Path, verb: str, settings: Mapping[str, Any], resume: bool) -> None:
    """Refuse ``out`` unless it holds no trained state (only, at most, a ``run.json``), or
    ``resume`` and it holds this very run.

    A folder holding models but no ``run.json`` (finished models copied in to be reused,
    e.g. the teachers of another experiment) is accepted with ``resume``: the training loop
    checks each model and checkpoint against the model, training and dataset config it must
    have, and refuses any that differs.

    Raises:
        RunFolderError: ``out`` is a file; it holds a run and ``resume`` is False; or
            ``resume`` and its ``run.json`` records another verb or other settings (each
            difference listed).
    """
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out}: exists and is not a folder")
    found = run_files(out)
    if all(f.name == RUN_FILE for f in found):
        return  # nothing trained yet (a run that failed its checks or died in epoch 1)
    state = "finished" if any(f.name in FINISHED_MARKERS for f in found) else "partial"
    if not resume:
        names = ", ".join(str(f.relative_to(out)) for f in found[:3])
        raise RunFolderError(
            f"folder {out} holds a {state} run ({names}); use --resume to continue it "
            "or another --out"
        )
    manifest = read_manifest(out)
    if manifest is None:
        return  # models copied in to be reused: each is checked against its own config
    stored_verb = manifest.get("verb")
    if stored_verb != verb:
        raise RunFolderError(
            f"--resume {out}: the folder holds a '{stored_verb}' run, not '{verb}'; "
            "use another --out"
        )
    diff = differences(manifest["settings"], settings)
    if diff:
        raise RunFolderError(
            f"--resume {out}: settings differ from the stored run: {'; '.join(diff)}. "
            "Resume with the stored settings, or start the new run in another --out"
        )


def write_manifest(out: Path, verb: str, settings: Mapping[str, Any]) -> Path:
    """Write ``out/run.json`` (atomically) unless it already records these settings."""
    out.mkdir(parents=True, exist_ok=True)
    old = read_manifest(out)
    if old is not None and old.get("verb") == verb and not differences(old["settings"], settings):
        return out / RUN_FILE
    record = {
        "format": FORMAT,
        "version": 1,
        "verb": verb,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": normalize(dict(settings)),
    }
    return write_json(out / RUN_FILE, record)


def model_folders(out: Path) -> Iterable[Path]:
    """``<model>/seed<k>/`` folders of an experiment that hold a ``model.pt``."""
    return (p.parent for p in sorted(out.glob("*/seed*/model.pt")))


def claim(
    out: Path,
    verb: str,
    settings: Mapping[str, Any],
    resume: bool,
    rank: int = 0,
    barrier: Callable[[], None] | None = None,
) -> None:
    """:func:`check_folder` on every rank, then (after ``barrier``, under torchrun) rank 0
    writes ``run.json``: every rank refuses together or none does."""
    check_folder(out, verb, settings, resume)
    if barrier is not None:
        barrier()
    if rank == 0:
        write_manifest(out, verb, settings)
