"""Device drivers that fail in every hook: each call succeeds or raises a DeviceError kind
naming the device, within a time bound, and the device's state stays consistent."""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from faulty import (
    CAMERA_HOOKS,
    CONNECTION_LOSSES,
    EXCEPTIONS,
    KINDS,
    MALFORMED_FRAMES,
    SLM_HOOKS,
    FaultyCamera,
    FaultySLM,
    settle,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.interface.errors import (
    DeviceBusy,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    InvalidPattern,
    InvalidSetting,
)
from devices.interface.hooks import is_connection_loss

T = 0.1  # capture and hook timeouts in these tests, seconds
BOUND = 2.0  # no call may take longer, seconds (deadline 0.16 s + abort 0.1 s + waits)


def camera() -> FaultyCamera:
    cam = FaultyCamera()
    cam.hook_timeout = T
    cam.timeout = T
    return cam


def slm() -> FaultySLM:
    dev = FaultySLM()
    dev.hook_timeout = T
    return dev


def attempt(dev, op: Callable[[], object]) -> tuple[object, float]:
    """Run ``op``; return (its result, or the DeviceError / KeyboardInterrupt it raised, and
    the seconds it took). Any other exception fails the test."""
    t0 = time.monotonic()
    try:
        out: object = op()
    except DeviceError as exc:
        out = exc
    except KeyboardInterrupt as exc:
        out = exc
    return out, time.monotonic() - t0


def check_outcome(dev, out: object, took: float, kind: str) -> None:
    assert took < BOUND, f"call took {took:.2f} s"
    if isinstance(out, KeyboardInterrupt):
        assert kind == "interrupt"
        return
    if isinstance(out, DeviceError):
        assert dev.label in str(out), str(out)
        cause = out.__cause__
        if cause is not None and is_connection_loss(cause):
            assert isinstance(out, DeviceDisconnected), str(out)


def check_consistent(dev, healthy: Callable[[], None]) -> None:
    """After the faults are gone: closed means closed (handle released, calls refused); an
    open device works again after recover(), and then closes cleanly."""
    settle(dev)
    if dev.closed:
        assert not dev.handle_open
        with pytest.raises(DeviceDisconnected, match=dev.label):
            healthy()
        return
    assert dev.handle_open, "the device says open but its handle was released"
    dev.recover()
    healthy()
    dev.close()
    assert dev.closed and not dev.handle_open


def camera_ops(cam: FaultyCamera) -> dict[str, Callable[[], object]]:
    def capture(n: int, average: bool) -> Callable[[], object]:
        def run():
            got = cam.capture(n, average=average)
            made = cam.frames_made
            expected = np.arange(made - n, made) % 4000
            # fresh frames of this call, never a late or malformed one
            if average:
                np.testing.assert_array_equal(got, np.full(cam.shape, expected.mean()))
            else:
                got = got if n > 1 else got[None]
                assert got.dtype == cam.dtype and got.shape == (n, *cam.shape)
                np.testing.assert_array_equal(got[:, 0, 0], expected)
            return got

        return run

    def read_exposure():
        value = cam.exposure
        assert isinstance(value, float) and np.isfinite(value) and value > 0
        return value

    return {
        "capture": capture(1, False),
        "capture3": capture(3, False),
        "capture2avg": capture(2, True),
        "set_exposure": lambda: cam.set_exposure(2e-3),
        "read_exposure": read_exposure,
        "recover": cam.recover,
        "close": cam.close,
    }


def slm_ops(dev: FaultySLM) -> dict[str, Callable[[], object]]:
    levels = np.arange(24).reshape(4, 6)

    def display():
        dev.display(levels)
        np.testing.assert_array_equal(dev.shown, levels)

    return {
        "display": display,
        "display_values": lambda: dev.display_values(np.full((4, 6), np.pi)),
        "recover": dev.recover,
        "close": dev.close,
    }


faults = {
    "kind": st.sampled_from(KINDS),
    "exc": st.sampled_from(sorted(EXCEPTIONS)),
    "times": st.sampled_from([1, 2, None]),
    "malformed": st.sampled_from(MALFORMED_FRAMES),
}


@settings(max_examples=45, deadline=None)
@given(
    hook=st.sampled_from(CAMERA_HOOKS),
    ops=st.lists(st.sampled_from(list(camera_ops(FaultyCamera()))), min_size=1, max_size=5),
    **faults,
)
def test_camera_faults_in_any_hook_give_named_errors_in_bounded_time(
    hook, ops, kind, exc, times, malformed
):
    cam = camera()
    try:
        cam.faults.inject(hook, kind, exc=exc, times=times, malformed=malformed)
        table = camera_ops(cam)
        for name in ops:
            aborts = cam.aborts
            out, took = attempt(cam, table[name])
            check_outcome(cam, out, took, kind)
            if isinstance(out, KeyboardInterrupt) and name.startswith("capture"):
                assert cam.aborts > aborts or hook == "_abort_hw"
        check_consistent(cam, table["capture"])
    finally:
        cam.faults.release_all()


@settings(max_examples=30, deadline=None)
@given(
    hook=st.sampled_from(SLM_HOOKS),
    ops=st.lists(st.sampled_from(list(slm_ops(FaultySLM()))), min_size=1, max_size=5),
    **faults,
)
def test_slm_faults_in_any_hook_give_named_errors_in_bounded_time(
    hook, ops, kind, exc, times, malformed
):
    dev = slm()
    try:
        dev.faults.inject(hook, kind, exc=exc, times=times, malformed=malformed)
        table = slm_ops(dev)
        for name in ops:
            out, took = attempt(dev, table[name])
            check_outcome(dev, out, took, kind)
        check_consistent(dev, table["display"])
    finally:
        dev.faults.release_all()


# -- item 8: the capture timeout holds even when the driver blocks ---------------------------
def test_blocked_capture_times_out_aborts_and_discards_the_late_frame():
    cam = camera()
    try:
        cam.faults.inject("_capture_hw", "block")
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"FaultyCamera 'cam0': no frame within 0.1 s"):
            cam.capture()
        assert time.monotonic() - t0 < 1.0
        assert cam.aborts == 1
        # the driver is still blocked: the next call is refused, not queued behind it
        with pytest.raises(DeviceBusy, match="still blocked: capture 1 frame"):
            cam.capture()
        settle(cam)  # the blocked call now returns frame 0, too late
        frame = cam.capture()
        assert cam.frames_made == 2 and frame[0, 0] == 1  # fresh frame 1, not the late 0
    finally:
        cam.faults.release_all()


def test_recover_gets_past_a_driver_blocked_for_good():
    cam = camera()
    try:
        cam.faults.inject("_capture_hw", "block")
        with pytest.raises(DeviceTimeout, match=r"still blocked.*recover\(\)"):
            try:
                cam.capture()
            except DeviceTimeout as exc:
                raise DeviceTimeout(exc.device, " ".join(exc.__notes__), "") from exc
        cam.recover()  # abort, leave the stuck thread behind, recover on a new worker
        assert cam.recovers >= 1
        assert cam.capture().shape == cam.shape
    finally:
        cam.faults.release_all()


def test_ctrl_c_during_a_blocked_capture_aborts_then_reraises():
    cam = camera()
    raised = threading.Event()

    def on_sigint(signum, frame):  # Python's default, once: a repeat press is not a second one
        if not raised.is_set():
            raised.set()
            raise KeyboardInterrupt

    # the test's own handler: in the full suite (clean clone, 2026-12-07) the first press was
    # lost twice in a row, never alone or after the same preceding files; pressed again until
    # it lands, and restored after
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        cam.faults.inject("_capture_hw", "block")

        def ctrl_c():  # once the driver is blocked, as a user would press it
            while not cam.faults.blocked:
                time.sleep(0.001)
            while not raised.is_set():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)

        threading.Thread(target=ctrl_c, daemon=True).start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            cam.capture(timeout=5.0)
        assert time.monotonic() - t0 < 2.0 and cam.aborts == 1
        settle(cam)
        cam.recover()
        assert cam.capture().shape == cam.shape
    finally:
        raised.set()
        signal.signal(signal.SIGINT, previous)
        cam.faults.release_all()


@pytest.mark.parametrize("malformed", MALFORMED_FRAMES)
def test_malformed_frames_call_abort_and_recover_then_raise(malformed):
    cam = camera()
    cam.faults.inject("_capture_hw", "malformed", malformed=malformed)
    with pytest.raises(DeviceError, match="FaultyCamera 'cam0'"):
        cam.capture()
    assert cam.aborts == 1 and cam.recovers == 1
    assert cam.capture().shape == cam.shape


# -- item 9: hook exceptions, recover and close -----------------------------------------------
@pytest.mark.parametrize("exc", sorted(EXCEPTIONS))
@pytest.mark.parametrize(
    "hook, call",
    [
        ("_display_hw", lambda s, c: s.display(np.zeros(s.shape, int))),
        ("_set_exposure_hw", lambda s, c: c.set_exposure(1e-3)),
        ("_get_exposure_hw", lambda s, c: c.exposure),
        ("_capture_hw", lambda s, c: c.capture()),
    ],
)
def test_hook_exceptions_come_out_as_device_errors_naming_device_and_action(hook, call, exc):
    s, c = slm(), camera()
    dev = s if hook == "_display_hw" else c
    dev.faults.inject(hook, "raise", exc=exc)
    with pytest.raises(DeviceError) as info:
        call(s, c)
    err = info.value
    assert dev.label in str(err)
    original = err.__cause__ or err.__context__
    assert original is not None or exc == "DeviceError"
    if exc in CONNECTION_LOSSES:
        assert isinstance(err, DeviceDisconnected) and "connection lost" in str(err)
        assert "still open" not in str(err)
        with pytest.raises(DeviceDisconnected, match="connection was lost"):
            call(s, c)  # refused until recover
        dev.recover()
    elif exc == "TimeoutError":
        assert isinstance(err, DeviceTimeout)
    else:
        assert not isinstance(err, DeviceDisconnected | DeviceTimeout)
    call(s, c)  # usable again


def test_failing_recover_does_not_hide_the_timeout():
    cam = camera()
    cam.faults.inject("_capture_hw", "raise", exc="TimeoutError")
    cam.faults.inject("_recover_hw", "raise", exc="RuntimeError")
    with pytest.raises(DeviceTimeout, match="timed out") as info:
        cam.capture()
    notes = " ".join(info.value.__notes__)
    assert "recovering after it failed too" in notes and "RuntimeError" in notes


@pytest.mark.parametrize("fault", ["raise", "block"])
def test_failing_close_keeps_the_device_open_and_can_be_retried(fault):
    cam = camera()
    try:
        cam.faults.inject("_close_hw", fault)
        with pytest.raises(DeviceError, match="close the device"):
            cam.close()
        assert not cam.closed and cam.handle_open
        cam.faults.clear()
        if fault == "raise":
            assert cam.capture().shape == cam.shape  # still open and working
        cam.close()
        assert cam.closed and not cam.handle_open
        with pytest.raises(DeviceDisconnected, match="closed"):
            cam.capture()
    finally:
        cam.faults.release_all()


def test_a_close_that_returns_late_still_counts():
    cam = camera()
    cam.faults.inject("_close_hw", "block")
    with pytest.raises(DeviceTimeout):
        cam.close()
    settle(cam)  # the abandoned close now releases the handle
    assert cam.closed and not cam.handle_open
    cam.close()  # nothing left to do
    assert cam.faults.calls["_close_hw"] == 1


def test_context_manager_keeps_the_original_error_when_close_fails():
    cam = camera()
    cam.faults.inject("_close_hw", "raise", exc="RuntimeError")
    with pytest.raises(ZeroDivisionError) as info, cam:
        1 / 0  # noqa: B018
    assert "closing FaultyCamera 'cam0' failed too" in " ".join(info.value.__notes__)


def test_os_error_with_connection_errno_is_a_disconnection():
    assert is_connection_loss(OSError(errno.ENODEV, "gone"))
    assert is_connection_loss(BrokenPipeError())
    assert not is_connection_loss(OSError(errno.EIO, "io"))
    assert not is_connection_loss(ValueError())


# -- values and settings ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [True, False, np.True_, "1 ms", "0.001", None, [1e-3], 1e-3j])
def test_exposure_refuses_what_is_not_a_number(bad):
    cam = camera()
    with pytest.raises(InvalidSetting, match="FaultyCamera 'cam0': exposure"):
        cam.exposure = bad
    assert cam.faults.calls.get("_set_exposure_hw", 0) == 0
    assert cam.set_exposure(np.float32(2e-3)) == pytest.approx(2e-3)


@pytest.mark.parametrize("bad", [True, "1", 0.0, -1.0, float("inf"), float("nan"), [1.0]])
def test_timeout_hook_timeout_and_frame_count_are_settings(bad):
    cam = camera()
    with pytest.raises(InvalidSetting, match="timeout"):
        cam.capture(timeout=bad)
    with pytest.raises(InvalidSetting, match="hook_timeout"):
        cam.hook_timeout = bad
    with pytest.raises(InvalidSetting, match="frame count"):
        cam.capture(bad)
    assert not isinstance(InvalidSetting("x", "y"), InvalidPattern)


def test_display_values_refuses_nan_and_inf_with_their_count():
    dev = slm()
    target = np.zeros((4, 6))
    target[0, :3] = np.nan
    target[1, 0] = np.inf
    with pytest.raises(InvalidPattern, match=r"FaultySLM 'slm0': target has 4 NaN/inf"):
        dev.display_values(target)
    assert dev.shown is None


def test_amplitudes_outside_the_lut_are_refused_unless_clipped():
    dev = FaultySLM(modulation="amplitude")
    dev.lut = np.linspace(0.1, 0.9, 256)
    target = np.full((4, 6), 0.5)
    target[0, 0], target[0, 1] = 0.0, 1.2
    with pytest.raises(InvalidPattern, match=r"2 target amplitudes lie outside.*clip=True"):
        dev.display_values(target)
    assert dev.shown is None
    dev.display_values(target, clip=True)
    brute = np.abs(target[..., None] - dev.lut).argmin(axis=-1)  # nearest level, by search
    np.testing.assert_array_equal(dev.shown, brute)
    assert dev.shown[0, 0] == 0 and dev.shown[0, 1] == 255


def test_any_finite_phase_is_in_range_and_matches_nearest_on_the_circle():
    dev = slm()
    target = np.linspace(-20, 20, 24).reshape(4, 6)
    dev.display_values(target)
    lut = np.arange(256) * (2 * np.pi / 256)
    d = np.abs(np.angle(np.exp(1j * (target[..., None] - lut))))
    np.testing.assert_array_equal(dev.shown, d.argmin(axis=-1))
