from __future__ import annotations

import numpy as np
import pytest

from fouroptics.optics import FourFSystem
from fouroptics.optics import fft as F


@pytest.mark.parametrize("backend", F.BACKENDS)
def test_backends_agree_with_numpy_reference(backend: str) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 24, 40)) + 1j * rng.standard_normal((3, 24, 40))).astype(
        np.complex128
    )
    np.testing.assert_allclose(F.fft2(x, backend), np.fft.fft2(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        F.fft2(x, backend, inverse=True), np.fft.ifft2(x) * x.shape[-1] * x.shape[-2], atol=1e-9
    )


def test_plans_are_cached_and_reused() -> None:
    F.clear_plan_cache()
    x = np.ones((2, 16, 16), np.complex64)
    F.fft2(x)
    plan = F.get_plan((2, 16, 16), np.complex64)
    F.fft2(x * 2)
    assert F.get_plan((2, 16, 16), np.complex64) is plan
    assert F.plan_cache_size() == 1


@pytest.mark.parametrize("backend", ["numpy", "scipy", "torch"])
def test_system_backends_agree(backend: str) -> None:
    base = FourFSystem.matched((32, 32), "8 um", dtype="complex128")
    other = base.with_options(fft_backend=backend)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 32, 32))
    mask = np.exp(1j * rng.random((32, 32)))
    np.testing.assert_allclose(other.forward(x, mask), base.forward(x, mask), atol=1e-12)


def test_thread_count_is_configurable(monkeypatch) -> None:
    assert F.threads_for((4, 64, 64)) == 1  # small transforms stay on one thread
    F.set_threads(3)
    try:
        assert F.threads_for((4, 64, 64)) == 3 and F.default_threads() == 3
    finally:
        F.set_threads(None)
    monkeypatch.setenv("FOUROPTICS_FFT_THREADS", "2")
    assert F.threads_for((1, 8, 8)) == 2
    monkeypatch.setenv("FOUROPTICS_FFT_THREADS", "many")
    with pytest.raises(ValueError, match="FOUROPTICS_FFT_THREADS"):
        F.default_threads()
    with pytest.raises(ValueError, match="set_threads"):
        F.set_threads(0)


@pytest.mark.parametrize("workers", [1, 2])
def test_batched_chain_matches_numpy_for_uneven_chunks(workers: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 1, 256, 256)).astype(np.complex64)  # chunks of 2, 2 and 1
    pre, mid, post = (np.exp(1j * rng.random((256, 256))).astype(np.complex64) for _ in range(3))
    got = F.chain_batched(x, pre, mid, post, workers=workers)
    ref = np.fft.fft2(np.fft.fft2(x * pre) * mid) * post
    assert got.shape == x.shape
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-5


def test_batched_chain_works_in_a_forked_child() -> None:
    """The worker pool is rebuilt after fork (DataLoader workers, multiprocessing)."""
    import multiprocessing as mp

    x = np.ones((4, 256, 256), np.complex64)
    ones = np.ones((256, 256), np.complex64)
    F.chain_batched(x, ones, ones, ones, workers=2)  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        value = pool.apply_async(_child_chain).get(timeout=60)
    assert value == pytest.approx(float(256 * 256) * 4 * 256 * 256, rel=1e-5)


def _child_chain() -> float:
    x = np.ones((4, 256, 256), np.complex64)
    ones = np.ones((256, 256), np.complex64)
    return float(np.abs(F.chain_batched(x, ones, ones, ones, workers=2)).sum())
