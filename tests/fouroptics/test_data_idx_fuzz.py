"""Property tests over IDX files and folders (random header bytes, truncation, type codes,
label values, gzip damage): every input either loads into a sane dataset or raises DataError,
never another exception, never a hang."""

from __future__ import annotations

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fouroptics.data import load_idx_folder, read_idx
from fouroptics.errors import DataError

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FUZZ = settings(
    max_examples=150,
    deadline=2000,  # ms per example: a hang fails the test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

pytestmark = pytest.mark.timeout(120)


@st.composite
def idx_bytes(draw, ndim_hint: int) -> bytes:
    """An IDX file that is well formed, or damaged in one of the ways files get damaged."""
    code = draw(st.sampled_from([*CODES, 0x08, 0x08, 0x08]))
    ndim = draw(st.sampled_from([ndim_hint] * 4 + [0, 1, 2, 3, 4]))
    dims = [draw(st.integers(0, 12)) for _ in range(ndim)]
    if ndim_hint == 3 and ndim == 3 and dims[0] > 0:
        dims[1:] = [draw(st.sampled_from([3, 4])) for _ in range(2)]
    n = int(np.prod(dims)) if dims else 0
    if n > 256:  # keep examples small: the header still says what it says
        dims = [min(d, 4) for d in dims]
        n = int(np.prod(dims))
    dtype = np.dtype(CODES[code])
    if dtype.kind == "f":
        pool = [0.0, 0.25, 1.0, 0.5, 2.0, -1.0, np.nan, np.inf, 3.0]
    elif ndim_hint == 1:  # labels: mostly small class indices, sometimes wild ones
        pool = [0, 1, 2, 3] * 8 + [9, 127, 255]
    else:
        pool = list(range(256))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(1, len(pool)))  # how many distinct values the file may hold
    values = rng.choice(np.array(pool[:k] if ndim_hint == 1 else pool, np.float64), size=n)
    with np.errstate(all="ignore"):
        data = values.astype(dtype, casting="unsafe")
    raw = bytes([0, 0, code, ndim]) + b"".join(struct.pack(">I", d) for d in dims)
    raw += data.tobytes()
    damage = draw(st.sampled_from(["none"] * 4 + ["truncate", "extend", "flip", "huge_dim"]))
    if damage == "truncate" and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif damage == "extend":
        raw += draw(st.binary(min_size=1, max_size=8))
    elif damage == "flip":
        pos = draw(st.integers(0, min(len(raw), 16) - 1))
        raw = raw[:pos] + bytes([draw(st.integers(0, 255))]) + raw[pos + 1 :]
    elif damage == "huge_dim" and ndim:
        raw = raw[:4] + struct.pack(">I", 0xFFFFFFFF) + raw[8:]
    return raw


def _write(path: Path, raw: bytes, gz: bool, gz_damage: int | None) -> Path:
    if gz:
        blob = gzip.compress(raw)
        if gz_damage is not None:
            pos = gz_damage % len(blob)
            blob = blob[:pos] + bytes([blob[pos] ^ 0x5A]) + blob[pos + 1 :]
        path = path.with_name(path.name + ".gz")
        path.write_bytes(blob)
    else:
        path.write_bytes(raw)
    return path


def _assert_sane(d) -> None:
    assert d.train_x.dtype == torch.float32 and d.train_x.ndim == 4 and d.train_x.shape[1] == 1
    assert d.test_x.shape[1:] == d.train_x.shape[1:]
    assert len(d.train_x) == len(d.train_y) > 0 and len(d.test_x) == len(d.test_y) > 0
    for x in (d.train_x, d.test_x):
        assert bool(torch.isfinite(x).all()) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert d.num_classes >= 2
    assert set(d.train_y.tolist()) == set(range(d.num_classes))
    assert set(d.test_y.tolist()) <= set(range(d.num_classes))


@FUZZ
@given(
    raw=st.one_of(idx_bytes(3), idx_bytes(1), st.binary(max_size=64)),
    gz=st.booleans(),
    gz_damage=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_read_idx_returns_the_declared_array_or_a_data_error(raw, gz, gz_damage) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "f-idx", raw, gz, gz_damage)
        try:
            arr = read_idx(path)
        except DataError as exc:
            assert str(path) in str(exc)
            return
        assert arr.ndim == raw[3] and arr.dtype == np.dtype(CODES[raw[2]]).newbyteorder("=")
        assert list(arr.shape) == list(struct.unpack(f">{raw[3]}I", raw[4 : 4 + 4 * raw[3]]))


def _encode(code: int, array: np.ndarray) -> bytes:
    head = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with np.errstate(all="ignore"):
        return head + array.astype(CODES[code], casting="unsafe").tobytes()


@st.composite
def idx_folder(draw) -> tuple[list[bytes], list[bool]]:
    """Four files of a train/t10k folder: about half consistent, the others with one kind of
    trouble (a wild label, a missing class, other types, NaN pixels, mixed sizes, a missing
    file, damaged bytes). Choices come from a drawn seed so their odds are the ones written."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def pick(options: list, odds: list[float]) -> object:
        return options[rng.choice(len(options), p=np.array(odds) / sum(odds))]

    n_tr, n_te = int(rng.integers(8, 25)), int(rng.integers(1, 13))
    side = int(rng.integers(3, 5))
    te_side = pick([side, side + 1], [0.9, 0.1])
    img_code = pick(list(CODES), [0.8, 0.04, 0.04, 0.04, 0.04, 0.04])
    lab_code = pick(list(CODES), [0.85, 0.03, 0.03, 0.03, 0.03, 0.03])
    k = pick([1, 2, 3, 4], [0.05, 0.35, 0.3, 0.3])
    y_tr = np.concatenate([np.arange(k), rng.integers(0, k, n_tr - k)])  # every class present
    y_te = rng.integers(0, k, n_te)
    if rng.random() < 0.15:  # a wild label somewhere
        (y_tr if rng.random() < 0.5 else y_te)[0] = pick([-1, k, 9, 255], [1, 1, 1, 1])
    if np.dtype(CODES[img_code]).kind == "f":
        pool = np.array(
            [0.0, 0.3, 1.0] + ([np.nan, np.inf, -0.5, 2.0] if rng.random() < 0.5 else [])
        )
        x_tr = rng.choice(pool, (n_tr, side, side))
        x_te = rng.choice(pool, (n_te, te_side, te_side))
    else:
        x_tr = rng.integers(0, 256, (n_tr, side, side))
        x_te = rng.integers(0, 256, (n_te, te_side, te_side))
    arrays = [x_tr, y_tr, x_te, y_te]
    codes = [img_code, lab_code, img_code, lab_code]
    files = [_encode(c, a) for c, a in zip(codes, arrays, strict=True)]
    if rng.random() < 0.3:
        victim = int(rng.integers(0, 4))
        raw = files[victim]
        how = pick(["truncate", "extend", "flip", "huge_dim", "count"], [1, 1, 2, 1, 1])
        if how == "truncate":
            raw = raw[: int(rng.integers(0, len(raw)))]
        elif how == "extend":
            raw += rng.bytes(int(rng.integers(1, 9)))
        elif how == "flip":
            pos = int(rng.integers(0, len(raw)))
            raw = raw[:pos] + bytes([raw[pos] ^ int(rng.integers(1, 256))]) + raw[pos + 1 :]
        elif how == "huge_dim":
            raw = raw[:4] + struct.pack(">I", 0xFFFFFFFF) + raw[8:]
        else:  # one sample fewer, header consistent with it
            raw = _encode(codes[victim], arrays[victim][1:])
        files[victim] = raw
    present = [True] * 4
    if rng.random() < 0.05:
        present[int(rng.integers(0, 4))] = False
    return files, present


@FUZZ
@given(
    folder=idx_folder(),
    gz=st.tuples(*[st.booleans()] * 4),
    gz_damage=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 10_000)),
)
def test_idx_folders_load_sanely_or_raise_data_error(folder, gz, gz_damage) -> None:
    files, present = folder
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, (name, raw) in enumerate(zip(names, files, strict=True)):
            if present[k]:
                _write(root / name, raw, gz[k], gz_damage if k == 0 else None)
        try:
            d = load_idx_folder(root)
        except DataError as exc:
            assert str(root) in str(exc)
            OUTCOMES["refused"] += 1
            return
        _assert_sane(d)
        OUTCOMES["loaded"] += 1


OUTCOMES = {"loaded": 0, "refused": 0}


def test_the_folder_fuzz_reaches_both_outcomes() -> None:
    """The folder generator yields loadable folders as well as broken ones (runs after the
    fuzz above, in file order)."""
    assert OUTCOMES["loaded"] >= 15 and OUTCOMES["refused"] >= 15, OUTCOMES
