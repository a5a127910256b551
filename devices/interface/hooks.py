"""Running driver hooks with a deadline, and driver failures as :class:`DeviceError` kinds.

A vendor SDK call can block forever (a lost trigger, a wedged USB transfer). The base class
:class:`devices.interface.device.Device` therefore runs each ``_..._hw`` hook in one worker
thread per device (:class:`HookRunner`, started on first use and reused) and waits for it with
a deadline. A call that outlives its deadline is *abandoned*: its eventual result (a late
frame) is discarded, and the runner reports it as stuck until it returns, so no second call
enters the driver concurrently with it. :func:`as_device_error` turns whatever a hook raised
into the matching :class:`DeviceError` kind, naming the device and the action.
"""

from __future__ import annotations

import errno
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any

from devices.interface.errors import DeviceDisconnected, DeviceError, DeviceTimeout

#: errno values that mean the link to the device is gone (not a transient failure).
CONNECTION_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENODEV",
        "ENXIO",
        "EPIPE",
        "ECONNRESET",
        "ECONNABORTED",
        "ECONNREFUSED",
        "ENOTCONN",
        "ESHUTDOWN",
        "ENETDOWN",
        "ENETUNREACH",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "ENOLINK",
    )
    if hasattr(errno, name)
)


class HookDeadline(Exception):
    """Internal: a hook did not return within its deadline (it keeps running, abandoned)."""


def is_connection_loss(exc: BaseException) -> bool:
    """True for failures that mean the connection is gone: ConnectionError (BrokenPipe,
    ConnectionReset, ...) or an OSError whose errno is in :data:`CONNECTION_ERRNOS`."""
    if isinstance(exc, ConnectionError):
        return True
    return isinstance(exc, OSError) and exc.errno in CONNECTION_ERRNOS


def as_device_error(exc: Exception, device: str, action: str) -> DeviceError:
    """The :class:`DeviceError` kind for an exception a driver hook raised while ``action``.

    A DeviceError naming ``device`` passes through unchanged (one naming something else is
    re-raised as its class naming ``device``); a lost connection becomes
    :class:`DeviceDisconnected`, a ``TimeoutError`` :class:`DeviceTimeout`, anything else a
    plain :class:`DeviceError` (the device is still open). The caller chains the original
    (``raise ... from exc``).
    """
    if isinstance(exc, DeviceError):
        if exc.device == device:
            return exc
        try:  # a driver's own DeviceError naming something else: name this device too
            return type(exc)(device, f"while trying to {action}: {exc}", "")
        except Exception:  # a driver subclass with another signature
            return DeviceError(device, f"while trying to {action}: {exc}")
    if is_connection_loss(exc):
        return DeviceDisconnected(
            device,
            f"connection lost while trying to {action} ({exc!r})",
            "reconnect the device, then call recover() or close() it and open a new instance",
        )
    if isinstance(exc, TimeoutError):
        return DeviceTimeout(
            device,
            f"the driver timed out while trying to {action} ({exc!r})",
            "check the device, then retry or call recover()",
        )
    return DeviceError(
        device,
        f"the driver failed to {action} ({exc!r})",
        "the device is still open; retry, or call recover()",
    )


def _work(jobs: queue.SimpleQueue) -> None:
    """Worker loop: run ``(fn, args, future)`` jobs until a ``None`` arrives."""
    while True:
        job = jobs.get()
        if job is None:
            return
        _run(*job)
        job = None  # hold no reference to the device while idle


def _run(fn: Callable[..., Any], args: tuple, future: Future) -> None:
    try:
        result = fn(*args)
    except BaseException as exc:  # handed to the caller, who re-raises it
        future.set_exception(exc)
    else:
        future.set_result(result)


def _wait(future: Future, timeout: float, slice_s: float = 0.05) -> bool:
    """Wait for ``future`` up to ``timeout`` s, in short slices so that Ctrl-C (a signal the
    kernel may hand to another thread) raises KeyboardInterrupt here within ``slice_s``."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return future.done()
        if wait([future], min(left, slice_s)).done:
            return True


class HookRunner:
    """One reusable daemon thread that runs a device's hooks, waited on with a deadline.

    Args:
        name: thread name (the device's label).
        owner: the device; the thread ends when it is garbage collected (or on :meth:`stop`).
    """

    def __init__(self, name: str, owner: object | None = None) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue | None = None
        self._stuck: tuple[str, float, Future] | None = None
        self._late: tuple[str, Future] | None = None  # the last abandoned call, kept when done
        self._lock = threading.Lock()
        self._owner_finalizer = None if owner is None else weakref.finalize(owner, self.stop)

    # -- state ----------------------------------------------------------------------------
    def stuck(self) -> str | None:
        """What an abandoned call still blocked in the driver is doing, or None."""
        with self._lock:
            if self._stuck is None:
                return None
            action, since, future = self._stuck
            if future.done():
                self._stuck = None
                return None
            return f"{action} (blocked for {time.monotonic() - since:.3g} s)"

    def finished_late(self, action: str) -> bool:
        """True when the last abandoned call was ``action`` and has since returned normally
        (e.g. a close that timed out but then released the device)."""
        with self._lock:
            late = self._late
        if late is None or late[0] != action or not late[1].done():
            return False
        return late[1].exception() is None

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for an abandoned call to return; True when none is left."""
        with self._lock:
            stuck = self._stuck
        if stuck is not None:
            _wait(stuck[2], timeout)
        return self.stuck() is None

    # -- calls ----------------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], args: tuple, deadline: float, action: str) -> Any:
        """Run ``fn(*args)`` in the worker and return its result or raise its exception.

        Raises:
            HookDeadline: no answer within ``deadline`` seconds; the call is abandoned.
        The caller checks :meth:`stuck` first: a stuck worker would queue this call behind
        the blocked one.
        """
        future: Future = Future()
        with self._lock:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                threading.Thread(
                    target=_work, args=(self._jobs,), name=f"hooks {self._name}", daemon=True
                ).start()
            self._jobs.put((fn, args, future))
        try:
            done = _wait(future, deadline)
        except BaseException:  # Ctrl-C while waiting: the call goes on without us
            self._abandon(action, future)
            raise
        if not done:
            self._abandon(action, future)
            raise HookDeadline(action)
        return future.result()

    def _abandon(self, action: str, future: Future) -> None:
        with self._lock:
            self._late = (action, future)
            if not future.done():
                self._stuck = (action, time.monotonic(), future)

    def replace_worker(self) -> None:
        """Leave a blocked worker behind (it ends when its call returns) and use a new one."""
        with self._lock:
            if self._jobs is not None:
                self._jobs.put(None)
            self._jobs = None
            self._stuck = None

    def stop(self) -> None:
        """End the worker thread once its current call (if any) returns."""
        with self._lock:
            if self._jobs is not None:
                self._jobs.put(None)
            self._jobs = None


def call_once(fn: Callable[[], Any], deadline: float, name: str) -> Any:
    """Run ``fn()`` in a new daemon thread and wait ``deadline`` s (for hooks like abort that
    must run while the device's worker is blocked).

    Raises:
        HookDeadline: ``fn`` did not return in time (it keeps running in its thread).
    """
    future: Future = Future()
    threading.Thread(target=_run, args=(fn, (), future), name=name, daemon=True).start()
    if not _wait(future, deadline):
        raise HookDeadline(name)
    return future.result()
