"""Byte-flip and truncation fuzz over every HDF5 format fouroptics writes.

Each corrupted copy is read in a separate Python process (one process per batch, reporting per
file), so a crash inside the HDF5 C library fails the test instead of killing pytest. Every
corruption must either read back identical data or raise FileFormatError.

Add a format with one line in WRITERS: a function that writes a typical file, and the
``module:function`` (plus extra arguments) that reads it back.

``make test`` samples ~300 flips and ~40 truncations per format; the exhaustive sweep (every byte
of the file, every truncation length) runs with ``FOUROPTICS_EXHAUSTIVE=1``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fouroptics.io import FileFormatError, read_h5, write_h5
from fouroptics.io.header import MAGIC, USERBLOCK_SIZE
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]
FMT = "fouroptics.FuzzTest"


@dataclasses.dataclass(frozen=True)
class Writer:
    """One HDF5 format: ``write(path)`` writes a typical file; ``read`` names the reader
    (``"module:function"``) called as ``reader(path, *read_args)`` in the worker process."""

    name: str
    write: Callable[[Path], Any]
    read: str
    read_args: tuple = ()


def write_test_file(path: Path) -> None:
    rng = np.random.default_rng(7)
    payload = {
        "mask": np.exp(2j * np.pi * rng.random((6, 7))).astype(np.complex64),
        "field": (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))),
        "levels": rng.integers(0, 256, (5, 5), dtype=np.uint8),
        "offsets": rng.integers(-1000, 1000, 9, dtype=np.int16),
        "flags": rng.random(6) > 0.5,
        "head": {
            "weight": rng.standard_normal((3, 4)).astype(np.float32),
            "bias": np.zeros(3),
            "inner": {"table": np.arange(12, dtype=np.int64).reshape(3, 4), "gain": 2.5},
        },
        "tile_size": 16,
        "names": ["teacher", "sclc"],
        "recipe": {"mode": "intensity", "pairs": [[0, 1], [2, 3]]},
    }
    system = FourFSystem.matched((16, 16), "8 um")
    write_h5(path, FMT, 2, payload, system.to_yaml())


def write_bundle(path: Path) -> None:
    from fouroptics.compiler import compile_kernels

    rng = np.random.default_rng(3)
    system = FourFSystem.matched((96, 96), "8 um")
    kernels = rng.standard_normal((2, 3, 3))
    compile_kernels(kernels, system, image_size=8, detection="intensity").save(path)


def write_calibration(path: Path) -> None:
    from calibration.calset import CalibrationSet

    rng = np.random.default_rng(5)
    CalibrationSet(
        bench_name="fuzz",
        sections={
            "camera": {"gain": 0.25, "read_noise": 2.1, "dsnu": rng.random((4, 4))},
            "registration": {"matrix": rng.standard_normal((2, 3))},
        },
        frames={"camera": {"displayed": 0, "captured": 12}},
    ).save(path)


#: Every HDF5 format the project writes, one line each.
WRITERS: list[Writer] = [
    Writer("write_h5", write_test_file, "fouroptics.io.h5:read_h5", (FMT, 2)),
    Writer("MaskBundle", write_bundle, "fouroptics.compiler.bundle:MaskBundle.load"),
    Writer("CalibrationSet", write_calibration, "calibration.calset:CalibrationSet.load"),
]


# -- the worker (runs in a subprocess) ---------------------------------------------------------
def canonical(obj: Any) -> str:
    """A sha256 over the structure, dtypes, shapes and values of what a reader returned."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {
            f.name: getattr(obj, f.name)
            for f in dataclasses.fields(obj)
            if not f.name.startswith("_")  # caches and locks, not content
        }
    elif hasattr(obj, "__dict__") and not isinstance(obj, Mapping | np.ndarray):
        obj = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    if isinstance(obj, Mapping):
        h.update(b"{")
        for key in sorted(obj, key=str):
            h.update(repr(key).encode())
            _feed(h, obj[key])
        h.update(b"}")
    elif isinstance(obj, list | tuple):
        h.update(b"[")
        for item in obj:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    else:
        h.update(repr(obj).encode())


def worker() -> None:
    """stdin: {"read", "read_args", "original", "scratch", "mutations": [[kind, a, b], ...]};
    prints one JSON line per mutation: {"i", "result": "identical" | "FileFormatError" |
    "different" | "<ExceptionType>: message"}, after a "start i" line (to find a crash)."""
    job = json.load(sys.stdin)
    module, func = job["read"].split(":")
    reader = importlib.import_module(module)
    for attr in func.split("."):  # "Class.method" too
        reader = getattr(reader, attr)
    original = Path(job["original"]).read_bytes()
    scratch = Path(job["scratch"])
    reference = canonical(reader(Path(job["original"]), *job["read_args"]))
    for i, (kind, a, b) in enumerate(job["mutations"]):
        data = bytearray(original)
        if kind == "flip":
            data[a] ^= b
        else:
            del data[a:]
        scratch.write_bytes(bytes(data))
        print(json.dumps({"start": i}), flush=True)
        try:
            got = canonical(reader(scratch, *job["read_args"]))
            result = "identical" if got == reference else "different"
        except FileFormatError:
            result = "FileFormatError"
        except Exception as exc:  # every other exception is a failure the test reports
            result = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"i": i, "result": result}), flush=True)


def abort_reader(path: Path, *args: Any) -> None:
    """A reader that dies like a crash in a C library (for the harness's own test)."""
    os.abort()


# -- the tests -----------------------------------------------------------------------------------
def mutations(size: int, n_flips: int | None, n_truncations: int | None, seed: int = 0):
    """Byte flips (offset, nonzero xor) and truncations (new length); None means all."""
    rng = np.random.default_rng(seed)
    if n_flips is None:
        offsets = np.arange(size)
    else:  # always the header and the HDF5 superblock, then a sample of the rest
        head = np.arange(0, USERBLOCK_SIZE + 64, 7)
        rest = rng.choice(np.arange(USERBLOCK_SIZE + 64, size), n_flips - len(head), replace=False)
        offsets = np.concatenate([head, rest])
    flips = [["flip", int(o), int(rng.integers(1, 256))] for o in offsets]
    if n_truncations is None:
        lengths = np.arange(size)
    else:
        lengths = np.unique(
            np.concatenate(
                [[0, 1, len(MAGIC), USERBLOCK_SIZE - 1, USERBLOCK_SIZE, USERBLOCK_SIZE + 8]]
                + [rng.integers(0, size, n_truncations)]
            )
        )
    return flips + [["truncate", int(n), 0] for n in lengths]


def run_worker(writer: Writer, original: Path, muts: list, tmp_path: Path) -> Counter:
    job = {
        "read": writer.read,
        "read_args": list(writer.read_args),
        "original": str(original),
        "scratch": str(tmp_path / f"corrupt{original.suffix}"),
        "mutations": muts,
    }
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, __file__, "worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        timeout=max(600.0, 0.01 * len(muts)),  # a hang, not a large exhaustive sweep, fails
        cwd=ROOT,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = {d["i"]: d["result"] for d in lines if "i" in d}
    started = [d["start"] for d in lines if "start" in d]
    if proc.returncode != 0:
        last = started[-1] if started else None
        what = muts[last] if last is not None else "before the first file"
        pytest.fail(
            f"{writer.name}: the reading process died (exit {proc.returncode}) on mutation "
            f"{what}: {proc.stderr[-2000:]}"
        )
    assert len(results) == len(muts), proc.stderr[-2000:]
    ok = ("identical", "FileFormatError")
    bad = {tuple(muts[i]): r for i, r in results.items() if r not in ok}
    assert not bad, f"{writer.name}: {len(bad)} corruptions not refused: {list(bad.items())[:10]}"
    return Counter(results.values())


def _fuzz(writer: Writer, tmp_path: Path, n_flips: int | None, n_trunc: int | None) -> Counter:
    original = tmp_path / "original.h5"
    writer.write(original)
    size = original.stat().st_size
    counts = run_worker(writer, original, mutations(size, n_flips, n_trunc), tmp_path)
    print(f"{writer.name}: {size} bytes, {dict(counts)}")
    return counts


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
def test_sampled_flips_and_truncations_are_refused_or_harmless(writer, tmp_path: Path) -> None:
    counts = _fuzz(writer, tmp_path, n_flips=300, n_trunc=40)
    assert sum(counts.values()) >= 300
    assert counts["FileFormatError"] > 0


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("FOUROPTICS_EXHAUSTIVE") != "1", reason="set FOUROPTICS_EXHAUSTIVE=1"
)
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
def test_every_flip_and_truncation_is_refused_or_harmless(writer, tmp_path: Path) -> None:
    _fuzz(writer, tmp_path, n_flips=None, n_trunc=None)


def test_the_worker_reports_a_crash_as_a_failure(tmp_path: Path) -> None:
    """The harness itself: a reader that kills its process must fail the test, not pass."""
    original = tmp_path / "original.h5"
    write_test_file(original)
    crash = Writer("crash", write_test_file, "__main__:abort_reader")
    with pytest.raises(pytest.fail.Exception, match="died"):
        run_worker(crash, original, [["flip", 600, 1]], tmp_path)


def test_an_edited_attribute_is_refused(tmp_path: Path) -> None:
    """The system YAML, created and version are covered: an edit made with h5py is refused."""
    import h5py

    path = tmp_path / "m.h5"
    write_test_file(path)
    with h5py.File(path, "r+") as f:
        f.attrs["system"] = f.attrs["system"].replace("8e-06", "9e-06")
    with pytest.raises(FileFormatError, match="checksum mismatch"):
        read_h5(path, FMT, 2)


def test_a_sealed_file_that_is_not_hdf5_raises_file_format_error(tmp_path: Path) -> None:
    """Past a valid header, whatever h5py raises becomes FileFormatError naming the file."""
    from fouroptics.io.header import seal

    path = tmp_path / "garbage.h5"
    path.write_bytes(b"\0" * USERBLOCK_SIZE + np.random.default_rng(1).bytes(4000))
    seal(path, FMT, 2)
    with pytest.raises(FileFormatError, match=r"garbage\.h5: not a readable HDF5 file"):
        read_h5(path, FMT, 2)


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    worker()
