"""The life cycle every device shares: :class:`Device` (name, close, recover, driver hooks run
with deadlines) and :class:`PixelDevice` (a validated pixel array).

Public methods validate their input, then call a small private hook that a driver implements
(``_display_hw``, ``_capture_hw``, ``_set_exposure_hw``, ...), so a new driver is a short file
(see :mod:`devices.interface.template`). Conventions: arrays are ``(rows, columns) = (H, W)``;
pitches in metres; exposures and timeouts in seconds; SLM drive values are integer gray levels
in ``[0, 2**bit_depth - 1]``; camera frames are unsigned integers in ``[0, 2**bit_depth - 1]``
(the camera's true bit depth, never left-justified into 16-bit words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from devices.interface.checks import check_bit_depth, check_pitch, check_seconds, check_shape
from devices.interface.errors import DeviceBusy, DeviceDisconnected, DeviceTimeout
from devices.interface.hooks import HookDeadline, HookRunner, as_device_error, call_once


class ClosesOnExit:
    """Context manager for anything with ``close()`` and a ``label``: closes on exit; when an
    error is already on its way, a failing close is added to it as a note instead of
    replacing it."""

    label: str

    def close(self) -> None:  # pragma: no cover - provided by the subclass
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except Exception as close_exc:
            exc.add_note(f"closing {self.label} failed too: {close_exc}")


class Device(ClosesOnExit):
    """Common life cycle: a name, ``close()`` (harmless twice), ``recover()``, context manager.

    Driver hooks (``_..._hw``) run in one worker thread per device, started on first use and
    reused, and the caller waits for them with a deadline: :attr:`hook_timeout` seconds for
    settings, display, recover and close; the capture timeout (plus a margin) for frames. A
    call that outlives its deadline raises :class:`DeviceTimeout`; it is abandoned (what it
    returns later is discarded) and, while it stays blocked in the driver, other calls are
    refused with :class:`DeviceBusy` until :meth:`recover` or :meth:`close`. Whatever a hook
    raises comes out as a :class:`DeviceError` kind naming the device and the action, chained
    to the original; a lost connection is :class:`DeviceDisconnected` and further calls are
    refused until :meth:`recover` succeeds. Drivers whose hooks only compute and never block
    (simulated devices) set the class attribute ``blocking_hooks = False``: their hooks run in
    the caller's thread.
    """

    blocking_hooks: ClassVar[bool] = True

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._closed = False
        self._lost: str | None = None  # the action during which the connection was lost
        self._hook_timeout = 10.0
        self._runner: HookRunner | None = None

    @property
    def label(self) -> str:
        """How errors name this device: class and name."""
        cls = type(self).__name__
        return cls if self.name == cls else f"{cls} {self.name!r}"

    @property
    def closed(self) -> bool:
        """True once the driver released the device (:meth:`close` succeeded)."""
        return self._closed or self._closed_late()

    @property
    def hook_timeout(self) -> float:
        """Seconds to wait for a driver hook other than capture (display, exposure, close...)."""
        return self._hook_timeout

    @hook_timeout.setter
    def hook_timeout(self, seconds: float) -> None:
        self._hook_timeout = check_seconds(seconds, self.label, "hook_timeout")

    def close(self) -> None:
        """Release the device. Calling it again does nothing.

        A driver call still blocked after a timeout is aborted first (and left behind).

        Raises:
            DeviceError: the driver failed to release the device (a kind of it: timeout, lost
                connection). The device then stays open (:attr:`closed` is False) and
                ``close()`` can be retried.
        """
        if self._closed or self._closed_late():
            return
        runner = self._runner
        if runner is not None and runner.stuck():
            self._abort()
            if not runner.wait_idle(min(self._hook_timeout, 1.0)):
                runner.replace_worker()
        self._call_hook("close the device", self._close_hw)
        self._mark_closed()

    def _mark_closed(self) -> None:
        self._closed = True
        if self._runner is not None:
            self._runner.stop()
            self._runner = None

    def _closed_late(self) -> bool:
        """A close that timed out but then returned normally did release the device."""
        runner = self._runner
        if runner is not None and runner.finished_late("close the device"):
            self._mark_closed()
            return True
        return False

    def recover(self) -> None:
        """Bring the device back after a failure (timeout, driver error, lost connection).

        Aborts a driver call still blocked after a timeout (its thread is left behind if the
        abort does not release it within :attr:`hook_timeout`; its result is discarded), then
        runs the driver's ``_recover_hw`` (flush, re-synchronize, reconnect). When that
        succeeds the device accepts calls again.

        Raises:
            DeviceDisconnected: the device is closed.
            DeviceError: ``_recover_hw`` failed; the device stays as it was.
        """
        if self._closed or self._closed_late():
            self._check_open("recover")
        runner = self._runner
        if runner is not None and runner.stuck():
            self._abort()
            if not runner.wait_idle(min(self._hook_timeout, 1.0)):
                runner.replace_worker()
        self._call_hook("recover", self._recover_hw)
        self._lost = None

    # -- driver hooks -----------------------------------------------------------------------
    def _close_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: release the hardware (called until it succeeds once)."""

    def _recover_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: bring the device back to idle after a failure (flush, re-sync)."""

    def _abort_hw(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Driver hook: stop an operation in progress (e.g. abort an acquisition).

        Runs in another thread than the blocked hook, while that hook may still be running:
        it must be safe to call concurrently (most SDKs' abort/stop calls are).
        """

    # -- running hooks ----------------------------------------------------------------------
    def _worker(self) -> HookRunner:
        if self._runner is None:
            self._runner = HookRunner(self.label, owner=self)
        return self._runner

    def _call_hook(
        self,
        action: str,
        hook: Callable[..., Any],
        *args: Any,
        deadline: float | None = None,
        late: str | None = None,
    ) -> Any:
        """Run a driver hook and return its result.

        Args:
            action: what the hook does, for messages ("display a pattern").
            hook, args: the bound hook and its arguments.
            deadline: seconds to wait (default :attr:`hook_timeout`).
            late: the problem text when the deadline passes (default: a generic one).

        Raises:
            DeviceError: the hook's failure as its DeviceError kind, chained to it.
        """
        deadline = self._hook_timeout if deadline is None else deadline
        try:
            if not self.blocking_hooks:
                return hook(*args)
            return self._worker().call(hook, args, deadline, action)
        except HookDeadline:
            raise DeviceTimeout(
                self.label,
                late or f"the driver did not {action} within {deadline:.3g} s",
                "it may still be blocked: call recover(), or close() and open a new instance",
            ) from None
        except Exception as exc:
            err = as_device_error(exc, self.label, action)
            if isinstance(err, DeviceDisconnected):
                self._lost = action
            if err is exc:
                raise
            raise err from exc

    def _abort(self) -> str | None:
        """Call ``_abort_hw`` (in its own thread, :attr:`hook_timeout` at most); returns what
        went wrong, or None. Never raises an Exception: the caller has an error to report."""
        try:
            if self.blocking_hooks:
                call_once(self._abort_hw, self._hook_timeout, f"abort {self.label}")
            else:
                self._abort_hw()
        except HookDeadline:
            return f"the abort hook did not return within {self._hook_timeout:.3g} s"
        except Exception as exc:
            return f"the abort hook failed too ({exc!r})"
        return None

    def _check_open(self, action: str) -> None:
        if self._closed or self._closed_late():
            raise DeviceDisconnected(
                self.label,
                f"cannot {action}: the device is closed",
                "open a new instance to use it again",
            )
        if self._lost is not None:
            raise DeviceDisconnected(
                self.label,
                f"cannot {action}: the connection was lost while trying to {self._lost}",
                "reconnect the device, then call recover() or close() it and open a new instance",
            )
        stuck = None if self._runner is None else self._runner.stuck()
        if stuck is not None:
            raise DeviceBusy(
                self.label,
                f"cannot {action}: an earlier driver call is still blocked: {stuck}",
                "call recover(), or close() the device and open a new instance",
            )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_runner"] = None  # threads do not pickle; a copy starts its own
        return state

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self.label} {state}>"


class PixelDevice(Device):
    """A device with a pixel array: shape, pitch and bit depth, validated once here."""

    def __init__(
        self, shape: Sequence[int], pitch: float, bit_depth: int, name: str | None = None
    ) -> None:
        super().__init__(name)
        self._shape = check_shape(shape, self.label)
        self._pitch = check_pitch(pitch, self.label)
        self._bit_depth = check_bit_depth(bit_depth, self.label)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of pixels."""
        return self._shape

    @property
    def pitch(self) -> float:
        """Pixel pitch in metres."""
        return self._pitch

    @property
    def bit_depth(self) -> int:
        """Bits per value: the SLM's drive resolution, the camera's true ADC resolution."""
        return self._bit_depth
