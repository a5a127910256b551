"""Bench.run and SimulatedBench.run: the batched path gives the generic path's numbers; the
complex bundle on an ideal noise-free bench gives the bundle's twin (hence the kernels'
convolution); mismatched bundles and saturated or dark cameras fail with numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from devices.config.bench_config import load_bench
from devices.interface.errors import DeviceError
from devices.run.loop import RunStats, bilinear_matrix, capture_generic, run_bundle
from devices.simulated.batched import capture_batched, truth_calibration
from fouroptics.compiler import SLMModel, compile_kernels
from fouroptics.errors import ConfigError


def bench_dict(misaligned: bool = False, seed: int = 5, camera_bits: int = 12) -> dict:
    d = {
        "name": "tiny",
        "seed": seed,
        "system": {
            "wavelength": "532 nm",
            "f1": "15 mm",
            "f2": "15 mm",
            "input_slm": {"shape": [96, 96], "pitch": "8 um"},
            "fourier_slm": {"shape": [128, 128], "pitch": "8 um", "fill_factor": 1.0},
            "camera": {"shape": [128, 128], "pitch": "8 um"},
        },
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude", "gamma": 1.0},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {
            "driver": "simulated",
            "profile": "sony_imx174_cmos",
            "exposure": "1 ms",
            "bit_depth": camera_bits,
        },
    }
    if misaligned:
        d["imperfections"] = {"shift": 1.0, "rotation_deg": 0.3, "fourier_decentre": 0.3}
        d["fourier_slm"]["fringing"] = 0.02
    else:  # an ideal camera but for shot noise: no fixed pattern, no dark signal
        d["camera"].update(read_noise=0.0, dark_current=0.0, dsnu=0.0, prnu=0.0)
    return d


KERNELS = np.array(
    [
        [[0.2, 0.5, 0.1], [0.4, 1.0, 0.3], [0.0, 0.6, 0.2]],
        [[1.0, 0.0, 0.0], [0, 0.5, 0], [0, 0, 0.8]],
    ]
)


def images(n: int, seed: int = 0) -> np.ndarray:
    """(n, 1, 8, 8) images on the 8-bit level grid (exact on an 8-bit input SLM)."""
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 8, 8)) / 255.0


def bundle_for(bench, encoding: str = "phase"):
    slm = None
    if encoding != "complex":
        resp = np.exp(1j * bench.truth()["fourier_slm"]["response"])
        slm = SLMModel(bit_depth=8, modulation="phase", response=resp)
    return compile_kernels(
        KERNELS, bench.system, image_size=8, detection="intensity", encoding=encoding, slm=slm
    )


def test_complex_bundle_noise_off_equals_convolution():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        x = images(6)
        stats = RunStats()
        got = bench.run(bundle, x, stats=stats, capture_options={"noise": False})
        ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])
        assert got.shape == ref.shape
        assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-3
        assert 0.45 < stats.exposure.fraction < 0.55  # brightest tile at half the range
        assert stats.saturated_fraction == 0
        assert stats.photometry.r2 > 0.999999


def test_batched_path_gives_the_generic_numbers_with_a_seeded_camera():
    x = images(3, seed=1)
    out = {}
    for name, capture in (("generic", capture_generic), ("batched", capture_batched)):
        with load_bench(bench_dict(misaligned=True)) as bench:
            bundle = bundle_for(bench)
            cal = truth_calibration(bench)
            stats = RunStats()
            feats = run_bundle(bench, bundle, x, cal, capture=capture, exposure=2e-3, stats=stats)
            out[name] = (feats, stats.example_frame)
    (fg, frame_g), (fb, frame_b) = out["generic"], out["batched"]
    diff = np.abs(frame_g - frame_b)
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3  # the same DN (float32 FFT ties aside)
    assert np.linalg.norm(fg - fb) / np.linalg.norm(fg) < 1e-3


def test_registration_from_truth_recovers_the_misaligned_bench():
    x = images(4, seed=2)
    d = bench_dict()
    d["imperfections"] = {"shift": 3.0}
    with load_bench(d) as bench:
        bundle = bundle_for(bench)
        twin = bundle.simulate(x)
        opts = {"capture_options": {"noise": False}}
        plain = bench.run(bundle, x, **opts)
        registered = bench.run(bundle, x, truth_calibration(bench), **opts)
    err = [np.linalg.norm(f - twin) / np.linalg.norm(twin) for f in (plain, registered)]
    assert err[1] < 0.85 * err[0]  # bilinear resampling of critically sampled tiles


def test_bilinear_matrix_matches_scipy_affine_transform():
    from scipy import ndimage

    img = np.random.default_rng(0).random((40, 50))
    th = 0.05
    a = 1.01 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    b = np.array([1.3, -0.7])
    ref = ndimage.affine_transform(img, a, offset=b, order=1, mode="constant", cval=0.0)
    got = (bilinear_matrix(img.shape, img.shape, a, b) @ img.ravel()).reshape(img.shape)
    inner = (slice(3, -3), slice(3, -3))
    np.testing.assert_allclose(got[inner], ref[inner], atol=1e-12)


def test_bundle_for_another_system_is_refused():
    with load_bench(bench_dict()) as bench:
        d = bench_dict()
        d["system"]["wavelength"] = "540 nm"
        with load_bench(d) as other:
            bundle = bundle_for(other)
        with pytest.raises(ConfigError, match=r"wavelength: bench 5\.32e-07, bundle 5\.4e-07"):
            bench.run(bundle, images(1))


def test_bench_whose_fourier_slm_disagrees_is_refused():
    with load_bench(bench_dict()) as bench:
        slm = SLMModel(bit_depth=10, modulation="phase")
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="phase", slm=slm
        )
        with pytest.raises(ConfigError, match="10-bit Fourier SLM"):
            bench.run(bundle, images(1))


def test_complex_bundle_on_the_generic_path_is_refused():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        with pytest.raises(ConfigError, match="no drive levels"):
            run_bundle(bench, bundle, images(1), capture=capture_generic)


def test_saturated_and_dark_cameras_are_reported_with_numbers():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench)
        stats = RunStats()
        bench.run(bundle, images(2), exposure=0.05, stats=stats)
        assert stats.saturated_fraction > 0.01
        assert any("saturated camera" in w and "%" in w for w in stats.warnings)
        d = bench_dict()
        d["laser"]["power"] = 1e-16
        d["camera"]["exposure_limits"] = ["15 us", "1 ms"]
    with load_bench(d) as dark:
        stats = RunStats()
        dark.run(bundle, images(2), stats=stats, capture_options={"noise": False})
        assert any("dark camera" in w for w in stats.warnings)
    d = bench_dict()
    d["laser"]["power"] = "10 W"
    with load_bench(d) as bright, pytest.raises(DeviceError, match="saturated at the shortest"):
        bright.run(bundle, images(2))


@pytest.mark.parametrize("misaligned", [False, True])
def test_fast_path_draws_the_emva_noise_around_the_mean_on_the_readout_pixels(misaligned):
    from devices.run.loop import RunCalibration, input_levels

    x = images(5, seed=3)
    with load_bench(bench_dict(misaligned=misaligned)) as bench:
        bundle = bundle_for(bench)
        w = bundle.window_mask()
        levels = input_levels(bench, bundle.input_transmission(x), RunCalibration())
        bench.camera.exposure = 1e-4
        fast = capture_batched(bench, bundle, levels, rng=np.random.default_rng(0), windows=w)
        mean = capture_batched(bench, bundle, levels, noise=False)
        p = bench.camera.params
    sel = np.broadcast_to(w, fast.shape)
    d = fast[sel] - mean[sel]
    # temporal noise of the EMVA model: K^2 (read^2 + dark) + K (mean - dark level) + 1/12
    var = p.gain**2 * (p.read_noise**2 + p.dark_current * 1e-4)
    var = var + p.gain * np.mean(mean[sel] - p.black_level) + 1 / 12
    assert abs(d.mean()) < 0.05 * np.sqrt(var) + 0.1
    assert 0.85 < d.std() / np.sqrt(var) < 1.15
    # complete first frames (complex64 fields resampled: a rounding may differ by 1 DN)
    off = np.abs(fast[0][~w] - np.rint(mean[0][~w]))
    assert off.max() <= 1 and np.count_nonzero(off) <= 1e-3 * off.size
