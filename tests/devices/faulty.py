"""A fault-injecting driver built on devices/template.py: any hook can raise, block, return
malformed data or be interrupted, on demand.

Each device holds a :class:`Faults` plan. ``faults.inject(hook, kind, exc=..., times=...)``
arms a fault for the next ``times`` calls of ``hook`` (None: every call). Kinds:

* ``"raise"``: raise ``exc`` (a fresh copy per call).
* ``"block"``: wait on ``faults.release`` (a threading.Event the test sets at the end, so no
  thread outlives it), then behave normally (a late result).
* ``"malformed"``: return malformed data (capture: ``malformed`` picks which; exposure read:
  a non-number); hooks whose result is unused just return it.
* ``"interrupt"``: raise KeyboardInterrupt, as Ctrl-C would in the driver.

The fake hardware keeps its own state: ``handle_open`` (False only after ``_close_hw`` returned
normally), counters of ``_abort_hw`` / ``_recover_hw`` calls, and a frame counter so a late
frame can be told from a fresh one.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from devices.interface.errors import DeviceError
from devices.interface.template import TemplateCamera, TemplateSLM

#: exception factories by name: what drivers and SDKs raise in the field.
EXCEPTIONS: dict[str, Callable[[], BaseException]] = {
    "RuntimeError": lambda: RuntimeError("SDK error 0x2A"),
    "ValueError": lambda: ValueError("SDK rejected the parameter"),
    "TypeError": lambda: TypeError("SDK got None"),
    "OSError-EIO": lambda: OSError(errno.EIO, "Input/output error"),
    "TimeoutError": lambda: TimeoutError("SDK wait timed out"),
    "ConnectionResetError": lambda: ConnectionResetError(errno.ECONNRESET, "reset by peer"),
    "BrokenPipeError": lambda: BrokenPipeError(errno.EPIPE, "Broken pipe"),
    "OSError-ENODEV": lambda: OSError(errno.ENODEV, "No such device"),
    "DeviceError": lambda: DeviceError("the vendor driver", "refused the command", "retry"),
}
#: exceptions that mean the connection is gone.
CONNECTION_LOSSES = ("ConnectionResetError", "BrokenPipeError", "OSError-ENODEV")
MALFORMED_FRAMES = ("shape", "float", "range", "none", "ragged", "negative")
KINDS = ("raise", "block", "malformed", "interrupt")


@dataclass
class Fault:
    kind: str
    exc: str = "RuntimeError"
    times: int | None = 1
    malformed: str = "shape"


class Faults:
    """The fault plan of one device, and the event that releases blocked hooks."""

    def __init__(self) -> None:
        self.plan: dict[str, Fault] = {}
        self.release = threading.Event()
        self.calls: dict[str, int] = {}
        self.blocked = 0  # hooks waiting on release right now
        self.lock = threading.Lock()

    def inject(
        self,
        hook: str,
        kind: str,
        exc: str = "RuntimeError",
        times: int | None = 1,
        malformed: str = "shape",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r}; expected one of {KINDS}")
        self.plan[hook] = Fault(kind, exc, times, malformed)

    def clear(self) -> None:
        self.plan.clear()

    def release_all(self, within: float = 5.0) -> None:
        """Clear the plan, let blocked hooks go and wait until none is blocked."""
        self.clear()
        self.release.set()
        end = time.monotonic() + within
        while self.blocked and time.monotonic() < end:
            time.sleep(0.001)

    def hit(self, hook: str) -> Fault | None:
        """Count the call; apply a raise/block/interrupt fault; return a malformed fault."""
        with self.lock:
            self.calls[hook] = self.calls.get(hook, 0) + 1
            fault = self.plan.get(hook)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.plan[hook]
        if fault.kind == "raise":
            raise EXCEPTIONS[fault.exc]()
        if fault.kind == "interrupt":
            raise KeyboardInterrupt
        if fault.kind == "block":
            with self.lock:
                self.blocked += 1
            try:
                self.release.wait()
            finally:
                with self.lock:
                    self.blocked -= 1
            return None
        return fault


class FaultySLM(TemplateSLM):
    """TemplateSLM whose hooks obey a :class:`Faults` plan."""

    def __init__(self, shape=(4, 6), name="slm0", **kw) -> None:
        super().__init__(shape=shape, name=name, **kw)
        self.faults = Faults()
        self.handle_open = True
        self.shown: np.ndarray | None = None
        self.aborts = self.recovers = 0

    def _display_hw(self, levels: np.ndarray) -> None:
        self.faults.hit("_display_hw")
        super()._display_hw(levels)
        self.shown = levels.copy()

    def _abort_hw(self) -> None:
        self.faults.hit("_abort_hw")
        self.aborts += 1

    def _recover_hw(self) -> None:
        self.faults.hit("_recover_hw")
        self.recovers += 1

    def _close_hw(self) -> None:
        self.faults.hit("_close_hw")
        super()._close_hw()
        self.handle_open = False


class FaultyCamera(TemplateCamera):
    """TemplateCamera whose hooks obey a :class:`Faults` plan; frame ``k`` is filled with
    ``k % 4000`` so a late frame can be told from a fresh one."""

    def __init__(self, shape=(3, 5), name="cam0", **kw) -> None:
        super().__init__(shape=shape, name=name, **kw)
        self.faults = Faults()
        self.handle_open = True
        self.frames_made = 0
        self.aborts = self.recovers = 0

    def _capture_hw(self, n_frames: int, timeout: float):
        fault = self.faults.hit("_capture_hw")
        first = self.frames_made
        self.frames_made += n_frames
        stack = np.stack(
            [np.full(self.shape, (first + i) % 4000, np.uint16) for i in range(n_frames)]
        )
        if fault is None:
            return stack
        return {
            "shape": lambda: stack[:, :-1],
            "float": lambda: stack.astype(np.float32),
            "range": lambda: stack + np.uint16(5000),
            "none": lambda: None,
            "ragged": lambda: [[1, 2, 3], [4]],
            "negative": lambda: stack.astype(np.int32) - 1 - int(stack.max()),
        }[fault.malformed]()

    def _get_exposure_hw(self):
        fault = self.faults.hit("_get_exposure_hw")
        if fault is not None:
            return {"shape": float("nan"), "float": -1.0, "range": "1 ms"}.get(
                fault.malformed, None
            )
        return super()._get_exposure_hw()

    def _set_exposure_hw(self, seconds: float) -> None:
        self.faults.hit("_set_exposure_hw")
        super()._set_exposure_hw(seconds)

    def _abort_hw(self) -> None:
        self.faults.hit("_abort_hw")
        self.aborts += 1

    def _recover_hw(self) -> None:
        self.faults.hit("_recover_hw")
        self.recovers += 1

    def _close_hw(self) -> None:
        self.faults.hit("_close_hw")
        super()._close_hw()
        self.handle_open = False


SLM_HOOKS = ("_display_hw", "_abort_hw", "_recover_hw", "_close_hw")
CAMERA_HOOKS = (
    "_capture_hw",
    "_get_exposure_hw",
    "_set_exposure_hw",
    "_abort_hw",
    "_recover_hw",
    "_close_hw",
)


def settle(dev, within: float = 5.0) -> None:
    """Release every blocked hook of ``dev`` and wait until its worker has returned."""
    dev.faults.release_all(within)
    runner = dev._runner  # the device's HookRunner (None when no hook ran in a thread)
    if runner is not None:
        runner.wait_idle(within)
