"""IDX reader and MNIST-format folders, against files the tests write byte by byte."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from fouroptics.data import (
    IDXError,
    UnknownDatasetError,
    load_classification,
    load_idx_folder,
    read_idx,
)
from fouroptics.errors import DataError


def _idx_bytes(arr: np.ndarray) -> bytes:
    """Hand-built IDX (uint8 only): magic 0x00000803 etc., big-endian dims, raw bytes."""
    assert arr.dtype == np.uint8
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def _write(path: Path, arr: np.ndarray) -> Path:
    data = _idx_bytes(arr)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_returns_the_written_content(tmp_path: Path, suffix: str) -> None:
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(_write(tmp_path / f"x-idx3-ubyte{suffix}", arr))
    assert got.shape == (2, 3, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, arr)


def test_read_idx_big_endian_int32(tmp_path: Path) -> None:
    values = np.array([1, -2, 70000], dtype=">i4")
    raw = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + values.tobytes()
    (tmp_path / "v").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "v"), [1, -2, 70000])


def test_wrong_magic_number_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(IDXError, match="magic"):
        read_idx(tmp_path / "bad")


def test_truncated_data_is_named(tmp_path: Path) -> None:
    raw = _idx_bytes(np.zeros((4, 2, 2), np.uint8))[:-3]
    (tmp_path / "t").write_bytes(raw)
    with pytest.raises(IDXError, match="truncated"):
        read_idx(tmp_path / "t")


def test_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "c.gz").write_bytes(b"not a gzip stream at all")
    with pytest.raises(IDXError, match="cannot read"):
        read_idx(tmp_path / "c.gz")
    with pytest.raises(IDXError, match="not found"):
        read_idx(tmp_path / "nope")


def _folder(tmp_path: Path, prefix: str, n_img: int, n_lab: int, side: int = 4) -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (n_img, side, side), dtype=np.uint8)
    labs = (np.arange(n_lab) % 10).astype(np.uint8)
    _write(tmp_path / f"{prefix}-images-idx3-ubyte.gz", imgs)
    _write(tmp_path / f"{prefix}-labels-idx1-ubyte", labs)


def test_t10k_only_folder_splits_8000_then_the_rest(tmp_path: Path) -> None:
    _folder(tmp_path, "t10k", 8012, 8012)
    d = load_idx_folder(tmp_path)
    assert d.train_x.shape == (8000, 1, 4, 4) and d.test_x.shape == (12, 1, 4, 4)
    assert d.train_y[:3].tolist() == [0, 1, 2] and d.test_y[0].item() == 8000 % 10
    raw = read_idx(tmp_path / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_allclose(d.test_x[:, 0].numpy(), raw[8000:] / 255.0, rtol=1e-6)
    assert d.num_classes == 10


def test_train_and_test_files_are_used_as_given(tmp_path: Path) -> None:
    _folder(tmp_path, "train", 30, 30)
    _folder(tmp_path, "t10k", 20, 20)
    d = load_classification(f"idx:{tmp_path}")
    assert (len(d.train_x), len(d.test_x)) == (30, 20)


def test_count_mismatch_and_missing_labels(tmp_path: Path) -> None:
    _folder(tmp_path, "t10k", 10, 9)
    with pytest.raises(IDXError, match="count mismatch.*10 images.*9 labels"):
        load_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(IDXError, match="missing IDX file t10k-labels"):
        load_idx_folder(tmp_path)


def test_empty_folder_and_unknown_names(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(IDXError, match="no MNIST-format files"):
        load_classification(f"idx:{tmp_path}")
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'cifar'.*glyphs"):
        load_classification("cifar")
    monkeypatch.delenv("FOUROPTICS_DATA", raising=False)
    with pytest.raises(DataError, match="FOUROPTICS_DATA"):
        load_classification("mnist")


@pytest.mark.data
def test_mnist_follows_the_8000_2000_convention() -> None:
    root = os.environ.get("FOUROPTICS_DATA")
    if not root or not (Path(root) / "mnist").is_dir():
        pytest.skip("FOUROPTICS_DATA/mnist not available")
    d = load_classification("mnist")
    assert d.train_x.shape == (8000, 1, 28, 28) and d.test_x.shape == (2000, 1, 28, 28)
    assert d.train_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the t10k set's start
    assert 0.0 <= float(d.train_x.min()) and float(d.train_x.max()) == 1.0
    assert sorted(d.test_y.unique().tolist()) == list(range(10))
