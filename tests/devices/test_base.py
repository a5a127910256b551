"""The SLM/Camera interface: validation before the hook, timeouts, double close, bit depth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from devices.interface import SLM, Camera
from devices.interface.errors import (
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)
from devices.interface.slm import nearest_levels
from devices.interface.template import TemplateCamera, TemplateSLM


class RecordingSLM(SLM):
    def __init__(self, **kw):
        super().__init__((4, 6), 8e-6, name="rec", **kw)
        self.sent: list[np.ndarray] = []
        self.closes = 0

    def _display_hw(self, levels):
        self.sent.append(levels)

    def _close_hw(self):
        self.closes += 1


class ScriptedCamera(Camera):
    """Returns the frames a test queues; ``fail`` makes the next capture raise it."""

    def __init__(self, bit_depth=12, msb_aligned=False, frames=None):
        super().__init__(
            (3, 5),
            5e-6,
            bit_depth=bit_depth,
            exposure_limits=(1e-5, 1.0),
            timeout=0.5,
            msb_aligned=msb_aligned,
            name="cam",
        )
        self.frames = frames
        self.fail: BaseException | None = None
        self.recovered = 0
        self._t = 1e-3

    def _capture_hw(self, n_frames, timeout):
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        if self.frames is not None:
            return self.frames
        return np.full((n_frames, *self.shape), 7, dtype=np.uint16)

    def _get_exposure_hw(self):
        return self._t

    def _set_exposure_hw(self, seconds):
        self._t = round(seconds, 4)  # hardware quantizes to 0.1 ms

    def _recover_hw(self):
        self.recovered += 1


def test_display_passes_validated_uint8_levels_to_the_hook():
    slm = RecordingSLM()
    slm.display(np.arange(24).reshape(4, 6).astype(np.float64))
    sent = slm.sent[-1]
    assert sent.dtype == np.uint8 and sent.flags.c_contiguous
    np.testing.assert_array_equal(sent, np.arange(24).reshape(4, 6))
    np.testing.assert_array_equal(slm.pattern, sent)


@pytest.mark.parametrize(
    "values, words",
    [
        (np.zeros((6, 4)), "shape"),
        (np.zeros((4, 6, 1)), "shape"),
        (np.full((4, 6), 256), "0..255"),
        (np.full((4, 6), -1), "0..255"),
        (np.full((4, 6), np.nan), "NaN"),
        (np.where(np.eye(4, 6) > 0, np.inf, 1.0), "NaN/inf"),
        (np.full((4, 6), 1.5), "fractional"),
        (np.ones((4, 6), dtype=complex), "complex"),
        (np.full((4, 6), "a"), "dtype"),
    ],
)
def test_bad_patterns_are_rejected_before_reaching_the_hook(values, words):
    slm = RecordingSLM()
    with pytest.raises(InvalidPattern) as info:
        slm.display(values)
    assert words in str(info.value) and "RecordingSLM 'rec'" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert slm.sent == []


def test_nan_error_names_the_first_bad_pixel():
    values = np.zeros((4, 6))
    values[2, 3] = np.nan
    with pytest.raises(InvalidPattern, match=r"1 NaN/inf values \(first at \(2, 3\)\)"):
        RecordingSLM().display(values)


def test_ten_bit_slm_uses_uint16_and_accepts_1023():
    slm = RecordingSLM(bit_depth=10)
    slm.display(np.full((4, 6), 1023))
    assert slm.sent[-1].dtype == np.uint16
    with pytest.raises(InvalidPattern):
        slm.display(np.full((4, 6), 1024))


def test_binary_slm_accepts_booleans_and_rejects_two():
    slm = RecordingSLM(bit_depth=1, modulation="binary")
    slm.display(np.eye(4, 6, dtype=bool))
    assert slm.sent[-1].max() == 1
    with pytest.raises(InvalidPattern):
        slm.display(np.full((4, 6), 2))
    with pytest.raises(ValueError, match="bit_depth 1"):
        RecordingSLM(bit_depth=8, modulation="binary")


def test_lut_validation_and_nearest_level_lookup():
    slm = RecordingSLM()
    with pytest.raises(ValueError, match=r"expected \(256,\)"):
        slm.lut = np.zeros(10)
    lut = np.linspace(0, 2.2 * np.pi, 256)
    slm.lut = lut
    target = np.array([0.0, np.pi, 2 * np.pi - 1e-3, -0.01])
    got = slm.levels_for(target)
    # reference: brute-force nearest on the circle
    d = np.abs(np.angle(np.exp(1j * (target[:, None] - lut[None, :]))))
    np.testing.assert_array_equal(got, d.argmin(axis=1))


def test_nearest_levels_plain_matches_brute_force():
    rng = np.random.default_rng(3)
    lut = rng.uniform(0, 1, 37)
    t = rng.uniform(-0.1, 1.1, 500)
    ref = np.abs(t[:, None] - lut[None, :]).argmin(axis=1)
    np.testing.assert_array_equal(nearest_levels(lut, t, circular=False), ref)


def test_closing_twice_is_harmless_and_display_after_close_raises():
    slm = RecordingSLM()
    slm.close()
    slm.close()
    assert slm.closes == 1 and slm.closed
    with pytest.raises(DeviceDisconnected, match="closed"):
        slm.display(np.zeros((4, 6)))


def test_context_manager_closes():
    with ScriptedCamera() as cam:
        assert cam.capture().shape == (3, 5)
    assert cam.closed
    cam.close()
    with pytest.raises(DeviceDisconnected):
        cam.capture()


def test_capture_shapes_and_average():
    cam = ScriptedCamera()
    assert cam.capture().shape == (3, 5) and cam.capture().dtype == np.uint16
    assert cam.capture(4).shape == (4, 3, 5)
    avg = cam.capture(4, average=True)
    assert avg.dtype == np.float64 and avg.shape == (3, 5) and np.all(avg == 7)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidSetting, match="frame count"):
            cam.capture(bad)


def test_timeout_raises_device_timeout_and_camera_stays_usable():
    cam = ScriptedCamera()
    cam.fail = TimeoutError("grab timed out")
    with pytest.raises(DeviceTimeout, match="ScriptedCamera 'cam': the driver timed out"):
        cam.capture()
    assert cam.recovered == 1
    assert cam.capture().shape == (3, 5)


def test_driver_failure_becomes_device_error_and_camera_stays_usable():
    cam = ScriptedCamera()
    cam.fail = OSError("usb hiccup")
    with pytest.raises(DeviceError, match="failed to capture 1 frame") as info:
        cam.capture()
    assert not isinstance(info.value, DeviceTimeout)
    assert cam.capture(2).shape == (2, 3, 5)


def test_template_camera_times_out_when_exposure_exceeds_timeout():
    cam = TemplateCamera()
    cam.exposure = 0.5
    with pytest.raises(DeviceTimeout):
        cam.capture(timeout=0.1)
    assert cam.capture(timeout=1.0).shape == cam.shape


def test_twelve_bit_frames_left_justified_are_caught():
    raw = (np.arange(15, dtype=np.uint16).reshape(1, 3, 5) * 273) << 4  # 12-bit values << 4
    cam = ScriptedCamera(frames=raw)
    with pytest.raises(DeviceError, match="msb_aligned=True"):
        cam.capture()
    fixed = ScriptedCamera(frames=raw, msb_aligned=True).capture()
    np.testing.assert_array_equal(fixed, raw[0] >> 4)
    assert fixed.max() <= 4095


def test_exposure_limits_and_realized_value():
    cam = ScriptedCamera()
    assert cam.set_exposure(0.12341) == pytest.approx(0.1234)
    assert cam.exposure == pytest.approx(0.1234)
    for bad in (0.0, 2.0, float("nan"), "fast", "0.1", True):
        with pytest.raises(InvalidSetting, match=r"\[1e-05, 1\] s"):
            cam.exposure = bad
    with pytest.raises(InvalidSetting):
        cam.capture(timeout=0)


def test_template_slm_roundtrip():
    slm = TemplateSLM(shape=(2, 3))
    slm.display([[0, 1, 2], [3, 4, 255]])
    assert slm.pattern[1, 2] == 255


@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(1, 16),
    data=st.data(),
)
def test_any_in_range_pattern_round_trips_and_any_out_of_range_is_rejected(bits, data):
    top = (1 << bits) - 1
    slm = RecordingSLM(bit_depth=bits, modulation="binary" if bits == 1 else "phase")
    good = data.draw(hnp.arrays(np.int64, (4, 6), elements=st.integers(0, top)))
    slm.display(good)
    np.testing.assert_array_equal(slm.sent[-1], good)
    bad = good.copy()
    bad[data.draw(st.integers(0, 3)), data.draw(st.integers(0, 5))] = data.draw(
        st.one_of(st.integers(top + 1, top + 10**6), st.integers(-(10**6), -1))
    )
    with pytest.raises(InvalidPattern):
        slm.display(bad)
    assert len(slm.sent) == 1
