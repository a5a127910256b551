"""IDX folders with impossible contents are refused before any training, naming the file:
jumping label counts, test-only labels, float or signed labels, NaN pixels, mixed image sizes,
corrupt gzip streams."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from fouroptics.data import IDXError, load_classification, load_idx_folder, write_idx
from fouroptics.errors import DataError
from fouroptics.nn import commands


def _folder(
    root: Path,
    train_labels: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    train_images: np.ndarray | None = None,
    test_images: np.ndarray | None = None,
) -> Path:
    """A train/t10k folder of 4x4 images; labels 0..9 cycling unless given."""
    rng = np.random.default_rng(0)
    tr_y = np.arange(40, dtype=np.uint8) % 10 if train_labels is None else train_labels
    te_y = np.arange(20, dtype=np.uint8) % 10 if test_labels is None else test_labels
    tr_x = rng.integers(0, 256, (len(tr_y), 4, 4), dtype=np.uint8)
    te_x = rng.integers(0, 256, (len(te_y), 4, 4), dtype=np.uint8)
    write_idx(root / "train-images-idx3-ubyte", tr_x if train_images is None else train_images)
    write_idx(root / "train-labels-idx1-ubyte", tr_y)
    write_idx(root / "t10k-images-idx3-ubyte.gz", te_x if test_images is None else test_images)
    write_idx(root / "t10k-labels-idx1-ubyte", te_y)
    return root


def test_a_sane_folder_loads(tmp_path: Path) -> None:
    d = load_idx_folder(_folder(tmp_path))
    assert d.num_classes == 10 and d.train_x.shape == (40, 1, 4, 4)


def test_a_label_of_255_among_digits_is_a_jumping_class_count(tmp_path: Path) -> None:
    labels = np.arange(40, dtype=np.uint8) % 10
    labels[7] = 255
    with pytest.raises(IDXError) as info:
        load_idx_folder(_folder(tmp_path, train_labels=labels))
    msg = str(info.value)
    assert "labels span 0..255 but only 11 distinct values occur" in msg
    assert "train-labels-idx1-ubyte" in msg


def test_a_label_only_in_the_test_split_is_refused(tmp_path: Path) -> None:
    train = np.arange(40, dtype=np.uint8) % 7  # classes 0..6
    with pytest.raises(IDXError, match=r"labels \[7, 8, 9\] occur in the test split .*t10k-label"):
        load_idx_folder(_folder(tmp_path, train_labels=train))


@pytest.mark.parametrize(
    ("labels", "dtype_name"),
    [(np.arange(40, dtype=np.float32) % 10, "float32"),
     (np.arange(40, dtype=np.float64) % 10 + 0.5, "float64"),
     (np.arange(40, dtype=np.int8) % 10 - 1, "int8"),  # negative labels
     (np.arange(40, dtype=np.int32) % 10, "int32")],
)  # fmt: skip
def test_labels_must_be_unsigned_bytes(tmp_path: Path, labels, dtype_name) -> None:
    with pytest.raises(IDXError, match=rf"train-labels-idx1-ubyte: labels of type {dtype_name}"):
        load_idx_folder(_folder(tmp_path, train_labels=labels))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused(tmp_path: Path, bad: float) -> None:
    images = np.random.default_rng(1).random((40, 4, 4)).astype(np.float32)
    images[3, 1, 2] = bad
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: 1 pixels are NaN or infinite"):
        load_idx_folder(_folder(tmp_path, train_images=images))


def test_float_pixels_in_unit_range_are_kept_and_others_refused(tmp_path: Path) -> None:
    images = np.random.default_rng(1).random((40, 4, 4)).astype(np.float32)
    d = load_idx_folder(_folder(tmp_path, train_images=images))
    np.testing.assert_array_equal(d.train_x[:, 0].numpy(), images)  # not divided by 255
    with pytest.raises(
        IDXError, match=r"float pixels span 0.5.*\.\.254.*; they must lie in \[0, 1\]"
    ):
        load_idx_folder(_folder(tmp_path, train_images=images * 255))
    with pytest.raises(IDXError, match="images of type int16 are not supported"):
        load_idx_folder(_folder(tmp_path, train_images=(images * 255).astype(np.int16)))


def test_train_and_test_images_of_different_sizes(tmp_path: Path) -> None:
    test = np.zeros((20, 5, 5), np.uint8)
    with pytest.raises(IDXError, match=r"training images are \(4, 4\).*test images are \(5, 5\)"):
        load_idx_folder(_folder(tmp_path, test_images=test))


def test_single_class_and_empty_sets(tmp_path: Path) -> None:
    with pytest.raises(IDXError, match="classification needs >= 2 classes"):
        load_idx_folder(_folder(tmp_path, np.zeros(40, np.uint8), np.zeros(20, np.uint8)))
    with pytest.raises(IDXError, match="empty image set"):
        load_idx_folder(
            _folder(
                tmp_path,
                train_labels=np.zeros(0, np.uint8),
                train_images=np.zeros((0, 4, 4), np.uint8),
            )  # fmt: skip
        )


GZ_HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF])


@pytest.mark.parametrize(
    ("name", "payload"),
    [("bad deflate (zlib.error)", GZ_HEADER + bytes([0x07]) + bytes(20)),
     ("truncated (EOFError)", gzip.compress(np.random.default_rng(2).bytes(500))[:200]),
     ("not gzip (BadGzipFile)", b"plain bytes, not gzip"),
     ("bad CRC", gzip.compress(bytes(64))[:-8] + b"\xff" * 8)],
    ids=["zlib.error", "EOFError", "BadGzipFile", "CRC"],
)  # fmt: skip
def test_corrupt_gzip_streams_are_data_errors_naming_the_file(tmp_path, name, payload) -> None:
    _folder(tmp_path)
    target = tmp_path / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(payload)
    with pytest.raises(DataError, match=rf"cannot read IDX file {target} \(corrupt gzip"):
        load_idx_folder(tmp_path)


def test_cli_refuses_bad_data_before_training(tmp_path: Path, capsys) -> None:
    labels = np.arange(40, dtype=np.uint8) % 10
    labels[0] = 255
    (tmp_path / "data").mkdir()
    folder = _folder(tmp_path / "data", labels)
    out = tmp_path / "out"
    argv = ["train", "--dataset", f"idx:{folder}", "--out", str(out), "--epochs", "1",
            "--threads", "1", "--device", "cpu"]  # fmt: skip
    assert commands.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fouroptics train: error: ") and err.count("\n") == 1
    assert "labels span 0..255" in err and "train-labels-idx1-ubyte" in err
    assert not out.exists()


def test_idx_dataset_names_are_resolved_paths(tmp_path: Path, monkeypatch) -> None:
    _folder(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    d = load_classification(f"idx:{tmp_path.name}/")
    assert d.name == f"idx:{tmp_path.resolve()}"
