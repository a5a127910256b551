"""Bench YAML device construction: slmsuite arguments, raw slmsuite frames, no mixed benches."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from devices.config import BenchConfigError, load_bench
from devices.interface.errors import DeviceError

BENCHES = Path(__file__).resolve().parents[2] / "examples" / "benches"


def slmsuite_cfg() -> dict:
    pytest.importorskip("slmsuite")
    return yaml.safe_load((BENCHES / "slmsuite_simulated.yaml").read_text())


def load_quietly(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_bench(source)


def write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "role, args, words",
    [
        ("fourier_slm", {"bitdepht": 8}, r"unknown argument\(s\) \['bitdepht'\]"),
        ("camera", {"gian": 40.0}, r"unknown argument\(s\) \['gian'\]"),
        ("input_slm", {"resolution": None}, r"bad arguments"),
        ("input_slm", {"pitch_um": [8, 8], "bitdepth": 8}, r"resolution"),  # missing one
    ],
)
def test_wrong_slmsuite_argument_names_device_yaml_and_argument(tmp_path, role, args, words):
    cfg = slmsuite_cfg()
    if role == "camera":
        cfg[role]["args"].update(args)
    else:
        cfg[role]["args"] = args
    path = write(tmp_path, cfg)
    with pytest.raises(BenchConfigError) as info:
        load_quietly(path)
    text = str(info.value)
    assert f"bench.{role}" in text and str(path) in text and "slmsuite:" in text, text
    assert __import__("re").search(words, text), text
    assert isinstance(info.value.__cause__, DeviceError | TypeError)


def test_unknown_argument_lists_what_the_class_accepts(tmp_path):
    cfg = slmsuite_cfg()
    cfg["input_slm"]["args"]["bitdepht"] = 8
    with pytest.raises(BenchConfigError, match=r"SimulatedSLM accepts: .*bitdepth"):
        load_quietly(write(tmp_path, cfg))


def test_simulated_devices_mixed_with_real_ones_are_refused():
    cfg = slmsuite_cfg()
    for role, section in (
        ("input_slm", {"driver": "simulated", "modulation": "amplitude"}),
        ("fourier_slm", {"driver": "simulated"}),
    ):
        bad = copy.deepcopy(cfg)
        bad[role] = section
        if role == "fourier_slm":  # the camera can no longer render the simulated SLM
            bad["camera"]["args"]["slm"] = "@input_slm"
        with pytest.raises(BenchConfigError, match=rf"{role} use driver 'simulated'.*nothing"):
            load_quietly(bad)


def test_slmsuite_frames_are_raw_even_when_the_camera_averages_or_does_hdr():
    pytest.importorskip("slmsuite")
    from devices.hardware.slmsuite_adapter import make_camera, make_slm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slm = make_slm("SimulatedSLM", resolution=(48, 32), pitch_um=(8, 8), bitdepth=8)
        cam = make_camera("SimulatedCamera", slm=slm, bitdepth=12, gain=40.0, pitch_um=(5, 5))
    pattern = np.zeros((32, 48), dtype=np.uint8)
    pattern[:, ::2] = 128
    slm.display(pattern)
    cam.exposure = 0.02
    single = cam.capture()
    cam.slmsuite.averaging = 4  # a lab's default: slmsuite would sum 4 frames
    cam.slmsuite.hdr = (2, 2)  # and take 2 exposures
    np.testing.assert_array_equal(cam.capture(), single)
    # slmsuite itself, with those defaults, returns something else than one exposure
    assert not np.array_equal(np.asarray(cam.slmsuite.get_image()), single)
    cam.close()
    slm.close()
