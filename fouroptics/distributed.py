"""Runs sharded across processes under ``torchrun`` (CPU: gloo), for the verbs that measure many
images (``simulate``, its sweeps and timeline): each rank measures its share, and
:func:`gather` brings every rank's share to every rank, or stops them all with one line.

* :func:`join`: the process group of a ``torchrun`` launch (``WORLD_SIZE > 1``), or none;
  a context manager that leaves the group on exit.
* :func:`gather`: every rank's object, in rank order, on every rank. A rank whose work raised
  contributes its error instead: every rank then raises :class:`RankFailed` naming it. A rank
  that died (killed, out of memory) makes the collective fail or time out on the others
  (``FOUROPTICS_DIST_TIMEOUT`` seconds, default 1800): they raise :class:`RankFailed` naming the
  ranks that never reached it (each rank marks its arrival in the launch's key-value store).
* ``FOUROPTICS_TEST_KILL_RANK=K``: rank K dies (SIGKILL) on reaching its first gather,
  a hook for the tests of the above.

Only rank 0 writes files; the verbs ask :func:`rank_world`.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fouroptics.errors import FouropticsError, one_line

#: the environment variable of the collective's timeout (seconds)
TIMEOUT_ENV = "FOUROPTICS_DIST_TIMEOUT"
#: the environment variable of the tests' hook: the rank that dies at its first gather
KILL_ENV = "FOUROPTICS_TEST_KILL_RANK"


class RankFailed(FouropticsError, RuntimeError):
    """A rank of a ``torchrun`` launch failed or died: the others stop, nothing is written."""


class _Terminated(Exception):
    """SIGTERM (torchrun stops the other workers when one dies)."""


_gathers = 0  # gathers so far in this process (the same sequence on every rank)


def launched() -> int:
    """The number of processes ``torchrun`` launched (``WORLD_SIZE``; 1 outside torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank_world() -> tuple[int, int]:
    """``(rank, world size)`` of the joined process group, ``(0, 1)`` outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "1800")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise FouropticsError(f"{TIMEOUT_ENV}: got {raw!r}; expected seconds > 0")
    return value


@contextlib.contextmanager
def join(verb: str) -> Iterator[tuple[int, int]]:
    """Join ``torchrun``'s process group (gloo) when launched with ``WORLD_SIZE > 1`` and yield
    ``(rank, world size)``; ``(0, 1)`` in a plain process. Leaves the group on exit. While
    joined, SIGTERM (torchrun stopping the workers after one died) raises :class:`RankFailed`
    naming the dead rank instead of killing the process silently."""
    if launched() <= 1:
        yield 0, 1
        return
    import torch.distributed as dist

    own = not dist.is_initialized()
    if own:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=_timeout()))
    rank, world = dist.get_rank(), dist.get_world_size()
    store = _store()
    if store is not None:
        store.set(f"pid{rank}", f"{socket.gethostname()} {os.getpid()}")
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield rank, world
    except _Terminated:
        raise RankFailed(
            f"{_who(_dead(world), world)} died: torchrun stopped this rank; nothing written"
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if own and dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()


_stores: list[Any] = []  # this process's client of the launch's key-value store


def _store() -> Any:
    """A client of ``torchrun``'s key-value store (``MASTER_ADDR:MASTER_PORT``), under a
    prefix of ours; None when it cannot be reached (naming lost ranks is a courtesy)."""
    if not _stores:
        import torch.distributed as dist

        try:
            client = dist.TCPStore(
                os.environ["MASTER_ADDR"],
                int(os.environ["MASTER_PORT"]),
                is_master=False,
                timeout=datetime.timedelta(seconds=30),
            )
            _stores.append(dist.PrefixStore("fouroptics", client))
        except (KeyError, ValueError, RuntimeError):
            _stores.append(None)
    return _stores[0]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a zombie, killed and not yet reaped, does
    not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _dead(world: int, waiting: list[int] | None = None, wait: float = 1.0) -> list[int]:
    """The ranks known dead: those on this host whose process is gone (looked for during
    ``wait`` seconds: a killed process closes its connections before it is gone); else
    ``waiting`` (the ranks that never reached a gather), or [] when nothing is known."""
    store = _store()
    pids: dict[int, int] = {}
    with contextlib.suppress(Exception):
        for r in range(world):
            if store is not None and store.check([f"pid{r}"]):
                host, pid = store.get(f"pid{r}").decode().split()
                if host == socket.gethostname() and int(pid) != os.getpid():
                    pids[r] = int(pid)
    end = time.monotonic() + wait
    while True:
        dead = [r for r, pid in pids.items() if not _alive(pid)]
        if dead or time.monotonic() > end:
            return dead or list(waiting or [])
        time.sleep(0.05)


def _who(ranks: list[int], world: int) -> str:
    if not ranks:
        return f"a rank of {world}"
    name = "rank" if len(ranks) == 1 else "ranks"
    return f"{name} {', '.join(map(str, ranks))} of {world}"


def gather(work: Callable[[], Any], what: str = "the run") -> list[Any]:
    """Run ``work()`` on this rank and return every rank's result, in rank order, on every
    rank (``[work()]`` outside a process group).

    Raises:
        RankFailed: some rank's ``work`` raised (every rank raises, naming it and its one-line
            error), or some rank died before the gather (named: a process of this host that is
            gone, else the ranks that never reached the gather).
    """
    global _gathers
    rank, world = rank_world()
    if world <= 1:
        return [work()]
    import torch.distributed as dist

    try:
        payload: tuple[str, Any] = ("ok", work())
    except _Terminated:
        raise
    except Exception as exc:  # noqa: BLE001 - every rank must hear of it, then all stop
        payload = ("error", one_line(exc))
    _gathers += 1
    if os.environ.get(KILL_ENV) == str(rank):
        os.kill(os.getpid(), signal.SIGKILL)
    key = f"gather{_gathers}/rank"
    store = _store()
    if store is not None:
        store.set(f"{key}{rank}", "arrived")
    out: list[Any] = [None] * world
    try:
        dist.all_gather_object(out, payload)
    except (RuntimeError, _Terminated) as exc:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stopping anyway: say why first
        waiting = []
        with contextlib.suppress(Exception):
            waiting = [r for r in range(world) if not store.check([f"{key}{r}"])]
        if isinstance(exc, _Terminated):
            why = "torchrun stopped this rank"
        elif "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
            why = f"no answer in {_timeout():g} s, {TIMEOUT_ENV}"
        else:
            why = "its connection closed"
        raise RankFailed(
            f"{_who(_dead(world, waiting), world)} died before gathering {what} ({why}); "
            "nothing written"
        ) from None
    failed = [(r, p[1]) for r, p in enumerate(out) if p[0] == "error"]
    if failed:
        r, msg = failed[0]
        raise RankFailed(f"rank {r} of {world} failed ({msg}); nothing written")
    return [p[1] for p in out]
