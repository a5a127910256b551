"""The ``filter`` readout (:class:`devices.run.geometry.FeatureSampler`): each feature read at
its own output position by 4 x 4 taps, through the registration, against scipy's convolution
and the resampling readout (Lanczos-4 resampling of every window pixel, then each window's
trigonometric interpolation), at a small fraction of its MACs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from devices.config import load_bench
from devices.run import RunStats, run_bundle
from devices.run.geometry import FeatureSampler, feature_positions
from fouroptics.compiler import compile_kernels
from fouroptics.errors import ConfigError

KERNELS = np.array(
    [
        [[0.2, 0.5, 0.1], [0.4, 1.0, 0.3], [0.0, 0.6, 0.2]],
        [[1.0, 0.0, 0.0], [0, 0.5, 0], [0, 0, 0.8]],
    ]
)
REFERENCE = np.random.default_rng(99).integers(0, 256, (4, 1, 8, 8)) / 255.0


def bench_dict(imperfections: dict | None = None) -> dict:
    """A small bench whose camera samples each image pixel 3 times (upsampling 3, equal
    pitches, f2 = f1), noise-free camera."""
    d = {
        "name": "filter",
        "seed": 7,
        "system": {
            "wavelength": "532 nm",
            "f1": "40 mm",
            "f2": "40 mm",
            "input_slm": {"shape": [128, 128], "pitch": "8 um"},
            "fourier_slm": {"shape": [256, 256], "pitch": "8 um", "fill_factor": 1.0},
            "camera": {"shape": [256, 256], "pitch": "8 um"},
        },
        "laser": {"power": "1 uW", "beam_waist": None},
        "input_slm": {"driver": "simulated", "modulation": "amplitude", "gamma": 1.0},
        "fourier_slm": {"driver": "simulated", "modulation": "phase"},
        "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
    }
    d["camera"].update(read_noise=0.0, dark_current=0.0, dsnu=0.0, prnu=0.0)
    if imperfections:
        d["imperfections"] = imperfections
    return d


def images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 1, 8, 8)) / 255.0


def convolution(x: np.ndarray) -> np.ndarray:
    return np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])


def measure(bench, bundle, x, cal, readout):
    stats = RunStats()
    feats = run_bundle(
        bench, bundle, x, cal, reference=REFERENCE, stats=stats, readout=readout,
        capture_options={"noise": False},
    )  # fmt: skip
    return feats, stats


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_lattice_aligned_features_are_read_from_one_pixel_each():
    """Nominal geometry, lattice-aligned: every feature lands on a camera pixel (3 per image
    pixel), so the filter reads that pixel alone (one tap and one photometry MAC per feature,
    256 MACs, against 20,040 for the resampling readout) and gives scipy's convolution to
    1e-4 (measured 1.0e-4: the window readout's least-squares fit, 1.2e-5, also averages
    what lies outside the kernels' harmonics)."""
    x = images(6)
    with load_bench(bench_dict()) as bench:
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
            upsample=3,
        )  # fmt: skip
        rows, cols = feature_positions(bundle)
        np.testing.assert_allclose(rows, np.round(rows))  # lattice-aligned: whole pixels
        filt, s_f = measure(bench, bundle, x, None, "filter")
        res, s_r = measure(bench, bundle, x, None, "resample")
    ref = convolution(x)
    assert rel(filt, ref) < 3e-4 and rel(res, ref) < 1e-4
    assert rel(filt, res) < 3e-4
    c, n = len(KERNELS), 8
    assert s_f.readout_macs == c * n * n * 2
    assert s_r.readout_macs > 50 * s_f.readout_macs


def test_filter_carries_the_registration_without_resampling():
    """A camera shifted, rotated and scaled: the filter reads each feature at its registered
    position (the registration given as data: here the bench's own, as ``--calibration truth``
    does) to within 1 % of scipy's convolution (measured 0.44 %; the resampling readout
    0.19 %), with 1/60 of the resampling readout's MACs."""
    x = images(6)
    imp = {"shift": 3.0, "rotation_deg": 0.5, "scale": 0.01}
    with load_bench(bench_dict(imp)) as bench:
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
            upsample=3,
        )  # fmt: skip
        cal = {"registration": bench.truth()["registration"]}
        filt, s_f = measure(bench, bundle, x, cal, "filter")
        res, s_r = measure(bench, bundle, x, cal, "resample")
        plain, _ = measure(bench, bundle, x, None, "filter")
    ref = convolution(x)
    assert rel(filt, ref) < 1e-2 and rel(res, ref) < 5e-3
    assert rel(plain, ref) > 0.3  # the registration is what the filter carries
    assert s_r.readout_macs > 50 * s_f.readout_macs


def test_an_unknown_readout_and_an_old_bundle():
    with load_bench(bench_dict()) as bench:
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
            upsample=3,
        )  # fmt: skip
        with pytest.raises(ConfigError, match="readout: got 'lanczos'"):
            measure(bench, bundle, images(1), None, "lanczos")
        del bundle.meta["t_anchor"]
        with pytest.raises(ConfigError, match="does not record its anchor"):
            FeatureSampler.build(bundle, None)
        stats = measure(bench, bundle, images(1), None, "filter")[1]
        assert stats.readout == "resample" and "recompile" in stats.warnings[0]
