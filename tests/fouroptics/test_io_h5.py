from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fouroptics.io import FileFormatError, read_h5, write_h5
from fouroptics.optics import FourFSystem

FMT = "fouroptics.Test"


def payload() -> dict:
    rng = np.random.default_rng(0)
    return {
        "mask": np.exp(2j * np.pi * rng.random((8, 9))).astype(np.complex64),
        "levels": rng.integers(0, 256, (8, 9), dtype=np.uint8),
        "head": {"weight": rng.standard_normal((3, 4)), "bias": np.zeros(3)},
        "tile_size": 16,
        "names": ["a", "b"],
    }


def test_round_trip_with_provenance(tmp_path: Path) -> None:
    system = FourFSystem.matched((16, 16), "8 um")
    path = write_h5(tmp_path / "m.h5", FMT, 2, payload(), system.to_yaml())
    data, attrs = read_h5(path, FMT, max_version=2)
    ref = payload()
    np.testing.assert_array_equal(data["mask"], ref["mask"])
    assert data["mask"].dtype == np.complex64 and data["levels"].dtype == np.uint8
    np.testing.assert_array_equal(data["head"]["weight"], ref["head"]["weight"])
    assert data["tile_size"] == 16 and data["names"] == ["a", "b"]
    assert attrs["format"] == FMT and attrs["format_version"] == 2
    assert attrs["created"].endswith("+00:00") and len(attrs["sha256"]) == 64
    import yaml

    assert FourFSystem.from_dict(yaml.safe_load(attrs["system"])) == system


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch
) -> None:
    import fouroptics.io.h5 as h5mod

    path = write_h5(tmp_path / "m.h5", FMT, 1, payload())
    before = path.read_bytes()
    bad = payload()
    bad["oops"] = object()
    with pytest.raises(ValueError, match="oops"):
        write_h5(path, FMT, 1, bad)

    real = h5mod._write_group

    def crash_midway(group, node):
        real(group, {"mask": node["mask"]})  # half the payload is on disk...
        raise RuntimeError("disk full")  # ...when the write dies

    monkeypatch.setattr(h5mod, "_write_group", crash_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        write_h5(path, FMT, 1, payload())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]


def test_corrupt_foreign_newer_and_edited_files_are_named(tmp_path: Path) -> None:
    good = write_h5(tmp_path / "good.h5", FMT, 3, payload())
    with pytest.raises(FileFormatError, match="no such file"):
        read_h5(tmp_path / "missing.h5", FMT, 3)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:500])
    with pytest.raises(FileFormatError, match=r"truncated\.h5: truncated: 500 bytes"):
        read_h5(truncated, FMT, 3)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="not a fouroptics HDF5 file"):
        read_h5(text, FMT, 3)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(FileFormatError, match=r"foreign\.h5: an HDF5 file without the fouroptics"):
        read_h5(foreign, FMT, 3)
    with pytest.raises(FileFormatError, match="found format 'fouroptics.Test'"):
        read_h5(good, "fouroptics.Other", 3)
    with pytest.raises(FileFormatError, match="version 3 is newer"):
        read_h5(good, FMT, 2)
    with h5py.File(good, "r+") as f:
        f["payload/mask"][0, 0] = 0
    with pytest.raises(FileFormatError, match=r"good\.h5: checksum mismatch"):
        read_h5(good, FMT, 3)
