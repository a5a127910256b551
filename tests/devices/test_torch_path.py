"""The simulated bench's torch path (:mod:`devices.simulated.torch_path`, ``--device``) gives
the numpy path's numbers on the CPU: noise off, the features of a run agree to 1e-5 relative
on a small misaligned bench and on examples/benches/misaligned_noisy.yaml (LUTs across the
panel, crosstalk, phase coupling, Gaussian beam, decentring, aberrations, stop, focal errors,
misaligned camera, splitter); noise on, the noise is drawn by the same per-image numpy streams
on the torch path's mean, so the noisy features agree too (a float32 last bit may move a
Poisson draw by one electron, rarely)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_run import REFERENCE, bench_dict, bundle_for, images

from devices.config import load_bench
from devices.run import OpticalModel

ROOT = Path(__file__).resolve().parents[2]
NOISY = ROOT / "examples" / "benches" / "misaligned_noisy.yaml"


def _features(bench_src, device, noise: bool, n: int, encoding: str) -> np.ndarray:
    with load_bench(bench_src) as bench:
        bench.use_device(device)
        bundle = bundle_for(bench, encoding)
        model = OpticalModel(
            bundle, bench, None, REFERENCE, exposure=1e-3, noise=noise, seed=3, batch=2
        )
        return model.features(images(n, seed=11))


@pytest.mark.parametrize(
    ("src", "encoding", "n"),
    [(bench_dict(misaligned=True), "phase", 5), (NOISY, "complex", 3)],
    ids=["tiny_misaligned", "misaligned_noisy"],
)
def test_torch_path_features_equal_the_numpy_path_without_noise(src, encoding, n):
    ref = _features(src, None, False, n, encoding)
    out = _features(src, "cpu", False, n, encoding)
    assert ref.shape == out.shape and np.abs(ref).max() > 0
    err = np.abs(out - ref).max() / np.abs(ref).max()
    assert err < 1e-5, err


def test_torch_path_noise_is_the_numpy_streams_on_its_mean():
    src = bench_dict(misaligned=True)
    ref = _features(src, None, True, 4, "phase")
    out = _features(src, "cpu", True, 4, "phase")
    quiet = _features(src, None, False, 4, "phase")
    noise = np.sqrt(np.mean((ref - quiet) ** 2))
    assert noise > 1e-3 * np.abs(ref).max()  # the draws are noise
    # the same draws: measured 0.2 % of the features moved by more than float32 rounding (a
    # last bit crossing a Poisson step: one electron), rms 0.45 % of the noise's
    assert np.mean(np.abs(out - ref) > 1e-3 * noise) < 0.01
    assert np.sqrt(np.mean((out - ref) ** 2)) < 0.02 * noise


def test_torch_powers_equal_numpy_at_pixels_and_full_frames():
    """The forward itself: (B, F, P) at scattered pixels, the first image's frames and full
    frames, against TrueOptics' numpy path, on misaligned_noisy.yaml."""
    from devices.simulated.torch_path import camera_powers

    with load_bench(NOISY) as bench:
        optics = bench._optics
        rng = np.random.default_rng(0)
        lv = rng.integers(0, 256, (2, *bench.input_slm.shape)).astype(np.uint8)
        fl = rng.integers(0, 256, (2, *bench.fourier_slm.shape)).astype(np.uint8)
        masks = optics.realised_masks(bench.fourier_slm.fields(fl, fill_factor=False))
        px = np.sort(rng.choice(512 * 512, 2000, replace=False))
        ref, ref0 = optics.camera_powers(lv, masks, exact=False, pixels=px)
        out, out0 = camera_powers(optics, lv, masks, pixels=px)
        full_ref = optics.camera_powers(lv[:1], masks)
        full = camera_powers(optics, lv[:1], masks, exact=True)
    for a, b in ((out, ref), (out0, ref0), (full, full_ref)):
        assert a.shape == b.shape and a.dtype == np.float32
        assert np.abs(a - b).max() / np.abs(b).max() < 1e-5


def test_a_device_torch_cannot_use_is_refused_in_one_line():
    with load_bench(bench_dict()) as bench:
        with pytest.raises(ValueError, match="allowed: cpu, cuda") as e:
            bench.use_device("mps")
        assert "\n" not in str(e.value)
        if not torch.cuda.is_available():
            with pytest.raises(ValueError, match="device cuda: this machine has no CUDA"):
                bench.use_device("cuda")
        assert bench.device is None
