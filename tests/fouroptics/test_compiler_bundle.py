"""MaskBundle files and errors: refuse foreign, newer, edited files and other systems; clear
one-line errors for kernels larger than the SLM, bands the Fourier SLM cannot hold, and
channels needing more frames than allowed; nothing half-written."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fouroptics.compiler import MaskBundle, compile_kernels
from fouroptics.errors import ConfigError, DataError, FileFormatError
from fouroptics.io.h5 import write_h5
from fouroptics.optics import FourFSystem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matched() -> FourFSystem:
    return FourFSystem.from_yaml(ROOT / "examples" / "systems" / "matched.yaml")


@pytest.fixture(scope="module")
def bundle(matched) -> MaskBundle:
    rng = np.random.default_rng(0)
    return compile_kernels(rng.standard_normal((3, 5, 5)), matched, image_size=16)


def test_save_load_round_trip(tmp_path, bundle, matched) -> None:
    path = bundle.save(tmp_path / "b.h5")
    again = MaskBundle.load(path, system=matched)
    np.testing.assert_array_equal(again.fourier_masks, bundle.fourier_masks)
    assert again.tile_map == bundle.tile_map
    assert again.detection == "ideal" and again.n_frames == bundle.n_frames
    assert MaskBundle.load(path).system.to_dict() == matched.to_dict()


def test_load_refuses_edited_foreign_newer_and_corrupt_files(tmp_path, bundle) -> None:
    path = bundle.save(tmp_path / "b.h5")
    with h5py.File(path, "r+") as f:
        f["payload/fourier_masks"][0, 0, 0] += 1
    with pytest.raises(FileFormatError, match="checksum"):
        MaskBundle.load(path)
    foreign = write_h5(tmp_path / "f.h5", "fouroptics.CalibrationSet", 1, {"x": np.ones(2)})
    with pytest.raises(FileFormatError, match="expected a fouroptics.MaskBundle"):
        MaskBundle.load(foreign)
    newer = write_h5(tmp_path / "n.h5", "fouroptics.MaskBundle", 99, {"x": np.ones(2)})
    with pytest.raises(FileFormatError, match="newer"):
        MaskBundle.load(newer)
    junk = tmp_path / "j.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(FileFormatError, match="not a fouroptics HDF5 file"):
        MaskBundle.load(junk)


def test_load_refuses_a_bundle_for_another_system(tmp_path, bundle) -> None:
    path = bundle.save(tmp_path / "b.h5")
    other = FourFSystem.matched((512, 512), "8 um", f2=0.2)
    with pytest.raises(ConfigError, match="compiled for system .*differs in .*f2"):
        MaskBundle.load(path, system=other)


def test_failed_save_leaves_the_old_file(tmp_path, bundle) -> None:
    path = bundle.save(tmp_path / "b.h5")
    before = path.read_bytes()
    broken = MaskBundle(**{**bundle.__dict__, "meta": {**bundle.meta, "bad": object()}})
    with pytest.raises((TypeError, ValueError)):
        broken.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b.h5"]


def test_kernel_larger_than_the_input_slm(matched) -> None:
    with pytest.raises(ConfigError, match="larger than the input SLM 512x512"):
        compile_kernels(np.ones((600, 600)), matched, image_size=16)


def test_band_the_fourier_slm_cannot_hold() -> None:
    small_f = FourFSystem(
        532e-9,
        0.1,
        0.1,
        {"shape": (128, 128), "pitch": 8e-6},
        {"shape": (64, 64), "pitch": 13e-6},
        {"shape": (128, 128), "pitch": 8e-6},
    )
    with pytest.raises(ConfigError, match="band: the kernels reach .* the Fourier SLM holds"):
        compile_kernels(np.ones((3, 3)), small_f, image_size=8, detection="intensity")


def test_channels_needing_more_frames_than_allowed(matched) -> None:
    kernels = np.random.default_rng(0).standard_normal((300, 3, 3))
    with pytest.raises(ConfigError, match=r"frames: 300 optical channels at \d+ per frame need"):
        compile_kernels(kernels, matched, image_size=16, detection="intensity", max_frames=1)
    ok = compile_kernels(kernels, matched, image_size=16, detection="intensity", max_frames=8)
    assert ok.n_frames > 1 and any("exposures per image" in w for w in ok.warnings)


def test_images_out_of_range_or_misshapen(bundle) -> None:
    with pytest.raises(DataError, match="amplitudes in"):
        bundle.input_fields(-np.ones((1, 1, 16, 16)))
    with pytest.raises(DataError, match="expected"):
        bundle.input_fields(np.ones((1, 2, 16, 16)))
    with pytest.raises(DataError, match="frames: shape"):
        bundle.readout(np.ones((1, 1, 8, 8)))


def test_input_fields_and_tile_map(bundle, matched) -> None:
    x = np.random.default_rng(1).random((2, 1, 16, 16))
    fields = bundle.input_fields(x)
    assert fields.shape == (2, bundle.n_frames, *matched.input_shape)
    t = bundle.input_transmission(x)
    assert t.min() >= 0 and t.max() <= 1
    # every image pixel shows up on the SLM (tiled), with its own value
    assert np.isclose(np.sort(np.unique(t))[-1], max(x.max(), 1.0))
    tiles = bundle.tile_map
    assert len(tiles) == 3 and all(e["role"] == "+R/-R" for e in tiles)
    crops = {(e["frame"], e["crop"][0], e["crop"][1]) for e in tiles}
    assert len(crops) == 3  # one camera tile per channel
    with pytest.raises(ConfigError, match="no head"):
        bundle.head()
