"""Our interface around slmsuite's own SimulatedSLM and SimulatedCamera."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("slmsuite")

from devices.hardware.slmsuite_adapter import (  # noqa: E402
    SlmsuiteCamera,
    SlmsuiteSLM,
    find_class,
    make_camera,
    make_slm,
)
from devices.interface.errors import DeviceError, InvalidPattern, InvalidSetting  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slm = make_slm("SimulatedSLM", resolution=(64, 48), pitch_um=(8, 8), bitdepth=8)
        cam = make_camera("SimulatedCamera", slm=slm, bitdepth=12, gain=40.0, pitch_um=(5, 5))
    return slm, cam


def test_properties_come_from_slmsuite(bench):
    slm, cam = bench
    assert isinstance(slm, SlmsuiteSLM) and isinstance(cam, SlmsuiteCamera)
    assert slm.shape == (48, 64) and slm.pitch == pytest.approx(8e-6) and slm.bit_depth == 8
    assert cam.shape == (48, 64) and cam.pitch == pytest.approx(5e-6) and cam.bit_depth == 12


def test_display_reaches_slmsuite_unchanged(bench):
    slm, _ = bench
    levels = (np.arange(48 * 64).reshape(48, 64) % 256).astype(np.int64)
    slm.display(levels)
    np.testing.assert_array_equal(np.asarray(slm.slmsuite.display), levels)


def test_bad_pattern_never_reaches_slmsuite(bench):
    slm, _ = bench
    slm.display(np.zeros((48, 64)))
    for bad in (np.full((48, 64), 256), np.full((48, 64), np.nan), np.zeros((64, 48))):
        with pytest.raises(InvalidPattern):
            slm.display(bad)
    assert np.all(np.asarray(slm.slmsuite.display) == 0)


def test_capture_returns_the_frame_slmsuite_renders(bench):
    slm, cam = bench
    pattern = np.zeros((48, 64), dtype=np.uint8)
    pattern[:, ::2] = 128  # a grating: light goes into the +-1 orders
    slm.display(pattern)
    cam.exposure = 0.5
    assert cam.slmsuite.exposure_s == pytest.approx(0.5)
    frame = cam.capture()
    rendered = cam.slmsuite.render() * (0.5 * 40.0)
    expected = np.clip(rendered, 0, 4095).astype(np.uint16)
    np.testing.assert_array_equal(frame, expected)
    assert frame.dtype == np.uint16 and 0 < frame.max() <= 4095
    stack = cam.capture(3)
    assert stack.shape == (3, 48, 64)
    cam.exposure = 0.25
    half = cam.capture(2, average=True)
    np.testing.assert_allclose(half, np.floor(np.clip(rendered / 2, 0, 4095)), atol=1)


def test_exposure_limits_are_ours(bench):
    _, cam = bench
    with pytest.raises(InvalidSetting):
        cam.exposure = -1.0


def test_ten_bit_slm_goes_through_as_uint16():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slm = make_slm("SimulatedSLM", resolution=(32, 16), bitdepth=10)
    slm.display(np.full((16, 32), 1023))
    assert np.asarray(slm.slmsuite.display).dtype == np.uint16
    assert int(np.asarray(slm.slmsuite.display).max()) == 1023
    slm.close()
    slm.close()


def test_unknown_class_is_named():
    with pytest.raises(DeviceError, match="NoSuchSLM"):
        find_class("slm", "NoSuchSLM")
