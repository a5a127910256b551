"""FFT backends for the numpy fast path: pyFFTW with cached plans (default), numpy, scipy, torch.

Plans are keyed by (shape, dtype, direction, threads) and kept in a small LRU cache: the one
piece of global state in the physics core. Each cached plan owns an aligned work buffer and a
lock; :func:`fft2_inplace` copies/multiplies the data into that buffer, transforms it in place,
and the caller reads the result out before the next call with the same key.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BACKENDS = ("pyfftw", "numpy", "scipy", "torch")
_MAX_PLANS = 32
_plans: OrderedDict[tuple, _Plan] = OrderedDict()
_plans_lock = threading.Lock()


_threads_override: int | None = None
#: Below this many complex elements per transform call, FFTW runs on one thread: thread start-up
#: and synchronisation cost more than they save, and on a busy machine a multi-threaded plan for
#: a small batch was measured 10-25x slower than a single-threaded one.
SMALL_TRANSFORM = 1 << 18


def default_threads() -> int:
    """All cores this process may use (or FOUROPTICS_FFT_THREADS / :func:`set_threads`)."""
    if _threads_override is not None:
        return _threads_override
    env = os.environ.get("FOUROPTICS_FFT_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(
                f"FOUROPTICS_FFT_THREADS: got {env!r}; expected an integer >= 1"
            ) from None
        if n < 1:
            raise ValueError(f"FOUROPTICS_FFT_THREADS: got {env!r}; expected an integer >= 1")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def set_threads(n: int | None) -> None:
    """Fix the FFTW thread count for new plans (None: back to the default)."""
    global _threads_override
    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise ValueError(f"set_threads: got {n!r}; expected an integer >= 1 or None")
    _threads_override = None if n is None else int(n)


def threads_for(shape: tuple[int, ...]) -> int:
    """Threads for a transform of ``shape``: one for small transforms, else the default."""
    if _threads_override is None and int(np.prod(shape)) < SMALL_TRANSFORM:
        if not os.environ.get("FOUROPTICS_FFT_THREADS"):
            return 1
    return default_threads()


class _Plan:
    """An in-place 2-D FFTW plan over the last two axes of a buffer, with its lock."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, inverse: bool, threads: int):
        import pyfftw

        self.buffer = pyfftw.empty_aligned(shape, dtype=dtype)
        direction = "FFTW_BACKWARD" if inverse else "FFTW_FORWARD"
        flags = ("FFTW_MEASURE", "FFTW_DESTROY_INPUT")
        self.fftw = pyfftw.FFTW(
            self.buffer,
            self.buffer,
            axes=(-2, -1),
            direction=direction,
            flags=flags,
            threads=threads,
            planning_timelimit=5.0,
        )
        self.lock = threading.Lock()


def get_plan(
    shape: tuple[int, ...],
    dtype: np.dtype | str,
    inverse: bool = False,
    threads: int | None = None,
    owner: int | None = None,
) -> _Plan:
    """Return the cached in-place plan for this shape/dtype/direction, creating it if needed.

    Args:
        shape: full array shape (..., H, W); the transform runs over the last two axes.
        dtype: complex64 or complex128.
        inverse: unnormalised backward transform if True.
        threads: FFTW threads; default :func:`threads_for` the shape.
        owner: a thread id for a plan (and buffer) private to that thread; None for a shared
            plan guarded by its lock.
    """
    dtype = np.dtype(dtype)
    threads = threads or threads_for(tuple(shape))
    key = (tuple(shape), dtype.str, bool(inverse), threads, owner)
    with _plans_lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
            return plan
    plan = _Plan(tuple(shape), dtype, inverse, threads)
    with _plans_lock:
        _plans[key] = plan
        while len(_plans) > _MAX_PLANS:
            _plans.popitem(last=False)
    return plan


def clear_plan_cache() -> None:
    """Forget all cached FFTW plans (frees their buffers)."""
    with _plans_lock:
        _plans.clear()


def plan_cache_size() -> int:
    """Number of cached plans."""
    return len(_plans)


def fft2(x: np.ndarray, backend: str = "pyfftw", inverse: bool = False) -> np.ndarray:
    """Unnormalised 2-D DFT over the last two axes (forward ``exp(-2 pi i jk/n)``), new array.

    ``inverse=True`` gives the unnormalised backward transform (``exp(+2 pi i jk/n)``).
    """
    return _transform(backend, inverse)(x)


def _transform(backend: str, inverse: bool) -> Callable[[np.ndarray], np.ndarray]:
    if backend == "pyfftw":

        def run(x: np.ndarray) -> np.ndarray:
            plan = get_plan(x.shape, x.dtype if x.dtype.kind == "c" else np.complex128, inverse)
            with plan.lock:
                plan.buffer[...] = x
                plan.fftw.execute()
                return plan.buffer.copy()

        return run
    if backend == "numpy":
        if inverse:
            return lambda x: np.fft.ifft2(x, norm="forward").astype(_cdtype(x), copy=False)
        return lambda x: np.fft.fft2(x).astype(_cdtype(x), copy=False)
    if backend == "scipy":
        import scipy.fft

        f = scipy.fft.ifft2 if inverse else scipy.fft.fft2
        norm = "forward" if inverse else "backward"
        return lambda x: f(x, norm=norm, workers=-1)
    if backend == "torch":
        import torch

        def run_torch(x: np.ndarray) -> np.ndarray:
            t = torch.from_numpy(np.ascontiguousarray(x))
            y = torch.fft.ifft2(t, norm="forward") if inverse else torch.fft.fft2(t)
            return y.numpy()

        return run_torch
    raise ValueError(f"fft backend: got {backend!r}; allowed: {', '.join(BACKENDS)}")


def chain_inplace(
    x: np.ndarray,
    pre: np.ndarray | None,
    mid: np.ndarray,
    post: np.ndarray | None = None,
    backend: str = "pyfftw",
) -> np.ndarray:
    """``post * FFT2(mid * FFT2(pre * x))`` over the last two axes, reusing one aligned buffer.

    This is the hot loop of a matched-sampling 4f system: two forward transforms and two
    elementwise products, with no temporary copies besides the returned array.

    Args:
        x: (..., H, W) real or complex.
        pre: (H, W) complex multiplier applied before the first FFT, or None.
        mid: (H, W) complex multiplier applied between the FFTs.
        post: (H, W) complex multiplier applied after the second FFT, or None.
        backend: "pyfftw" (cached in-place plan), "numpy" or "scipy".

    Returns:
        New complex array (..., H, W) of ``mid``'s dtype.
    """
    if backend != "pyfftw":
        f = _transform(backend, inverse=False)
        y = f(x * pre if pre is not None else x.astype(mid.dtype))
        y *= mid
        y = f(y).astype(mid.dtype, copy=False)
        return y * post if post is not None else y
    plan = get_plan(x.shape, mid.dtype)
    with plan.lock:
        buf = plan.buffer
        if pre is None:
            buf[...] = x
        else:
            np.multiply(x, pre, out=buf)
        plan.fftw.execute()
        np.multiply(buf, mid, out=buf)
        plan.fftw.execute()
        return np.multiply(buf, post) if post is not None else buf.copy()


#: Bytes of complex data per chunk in :func:`chain_batched`: about one core's L2 cache, so the
#: elementwise products run on data the FFT just left in cache.
CHUNK_BYTES = 1 << 20
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


_pool_pid = 0


def _executor(workers: int) -> ThreadPoolExecutor:
    """The worker pool, rebuilt after a fork (a forked child inherits no threads)."""
    global _pool, _pool_size, _pool_pid
    with _plans_lock:
        if _pool is None or _pool_size != workers or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fouroptics-fft")
            _pool_size, _pool_pid = workers, os.getpid()
        return _pool


def chain_batched(
    x: np.ndarray,
    pre: np.ndarray | None,
    mid: np.ndarray,
    post: np.ndarray | None,
    workers: int | None = None,
) -> np.ndarray:
    """:func:`chain_inplace` with pyFFTW over a batch, parallel over images.

    The batch is cut into cache-sized chunks; each worker thread transforms its chunks with its
    own single-threaded in-place plan (numpy's products and FFTW release the GIL) and writes the
    result straight into the output. For batched 2-D FFTs this beats one multi-threaded plan
    over the whole batch: no thread synchronisation inside a transform, and the products run
    in cache.

    Args:
        x: (..., H, W) real or complex.
        pre, mid, post: (H, W) multipliers as in :func:`chain_inplace` (pre/post may be None).
        workers: threads; default :func:`default_threads`.

    Returns:
        New array (..., H, W) of ``mid``'s dtype.
    """
    *batch, h, w = x.shape
    dtype = mid.dtype
    flat = x.reshape(-1, h, w)
    n = flat.shape[0]
    out = np.empty((n, h, w), dtype=dtype)
    chunk = max(1, CHUNK_BYTES // (h * w * dtype.itemsize))
    spans = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    workers = min(workers or default_threads(), len(spans))

    def work(span: tuple[int, int]) -> None:
        i, j = span
        plan = get_plan((j - i, h, w), dtype, threads=1, owner=threading.get_ident())
        buf = plan.buffer
        if pre is None:
            buf[...] = flat[i:j]
        else:
            np.multiply(flat[i:j], pre, out=buf)
        plan.fftw.execute()
        np.multiply(buf, mid, out=buf)
        plan.fftw.execute()
        if post is None:
            out[i:j] = buf
        else:
            np.multiply(buf, post, out=out[i:j])

    if workers <= 1:
        for span in spans:
            work(span)
    else:
        list(_executor(workers).map(work, spans))
    return out.reshape(*batch, h, w)


def _cdtype(x: np.ndarray) -> np.dtype:
    return np.result_type(x.dtype, np.complex64)
