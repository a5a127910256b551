"""The temporal and fixed-pattern noise sources beyond the EMVA basics (#17): the Fourier SLM's
phase flicker over an exposure window, stray light, the camera's DCNU and row/column noise;
their YAML (units, one-line refusals) and their seeds (old seeds keep their other truths)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from devices.config import load_bench
from devices.config.fields import BenchConfigError
from devices.simulated.camera import SimulatedCamera
from devices.simulated.flicker import Flicker, seen_rms
from devices.simulated.stray import StrayLight

SMALL = {
    "name": "small",
    "seed": 5,
    "system": {
        "wavelength": "532 nm",
        "f1": "40 mm",
        "f2": "40 mm",
        "input_slm": {"shape": [64, 64], "pitch": "8 um"},
        "fourier_slm": {"shape": [128, 128], "pitch": "8 um", "fill_factor": 1.0},
        "camera": {"shape": [128, 128], "pitch": "8 um"},
    },  # fmt: skip
    "laser": {"power": "1 uW", "beam_waist": None},
    "imperfections": {"shift": 1.0, "laser_power": 0.1},
    "input_slm": {"driver": "simulated", "profile": "holoeye_pluto2", "modulation": "amplitude"},
    "fourier_slm": {"driver": "simulated", "profile": "holoeye_pluto2"},
    "camera": {"driver": "simulated", "profile": "sony_imx174_cmos", "exposure": "1 ms"},
}


def _cfg(**noise) -> dict:
    cfg = copy.deepcopy(SMALL)
    if noise:
        cfg["imperfections"]["noise"] = noise
    return cfg


@pytest.mark.parametrize("periods", [0.25, 10.0])
def test_flicker_seen_in_an_exposure_matches_the_analytic_rms(periods):
    """The window mean of the phase over exposures starting at random times: a quarter period
    sees most of the ripple and of one frame's offset; ten periods average the ripple away and
    the frame offsets down to (x - 1/3) / x^2 of their variance (independent: the triangle
    autocorrelation of a piecewise-constant process, integrated)."""
    rms, hz = 0.1, 60.0
    fl = Flicker(rms, hz, np.random.SeedSequence(3))
    t0 = np.random.default_rng(0).uniform(0, 2000.0, 20000)
    m, q = fl.window(t0, periods / hz)
    expected = seen_rms(rms, periods / hz, hz)
    assert np.std(m) == pytest.approx(expected, rel=0.04)
    assert np.mean(m) == pytest.approx(0.0, abs=4 * expected / np.sqrt(len(m)) + 2e-3)
    # the exposure's mean square is the flicker's variance on average, whatever the window
    assert np.mean(q) == pytest.approx(rms**2, rel=0.03)
    # and by the direct sum of eps(t) on a fine grid, for a few windows
    for t in t0[:3]:
        ts = t + np.linspace(0, periods / hz, 20001)
        eps = fl.amplitude * np.cos(2 * np.pi * hz * ts + fl.theta) + fl.frame_offsets(
            np.floor(ts * hz).astype(int)
        )
        mw, qw = fl.window(np.array([t]), periods / hz)
        assert mw[0] == pytest.approx(eps.mean(), abs=2e-4)
        assert qw[0] == pytest.approx((eps**2).mean(), rel=2e-3)
    if periods == 0.25:
        assert expected > 0.85 * rms
    else:
        assert expected < 0.15 * rms


def test_flicker_on_the_bench_moves_the_image_between_exposures_and_is_seeded():
    """Frame by frame: the camera's exposures of one displayed pattern differ by the flicker
    (noiseless light through ``_exposed_power``); the same seed gives the same powers; and the
    batched capture integrates the same windows (equal powers)."""
    pattern = np.random.default_rng(1).integers(0, 256, (128, 128))
    powers = []
    for _ in range(2):
        with load_bench(_cfg(flicker="0.3 rad", stray_light=0)) as bench:
            bench.fourier_slm.display(pattern)
            bench.input_slm.display(np.full(bench.input_slm.shape, 255))
            p = []
            for _ in range(4):
                p.append(bench._exposed_power().copy())
                bench.advance(0.0041)
            powers.append(np.array(p))
            ideal = bench.ideal_power()
            assert bench.truth()["flicker"]["rms_rad"] == pytest.approx(0.3)
    np.testing.assert_array_equal(powers[0], powers[1])
    spread = np.abs(powers[0] - powers[0].mean(0)).sum() / np.abs(ideal).sum()
    assert spread > 1e-3
    # total power (Parseval: a phase mask moves light, the unit-modulus SLM keeps it)
    np.testing.assert_allclose(powers[0].sum(axis=(1, 2)), ideal.sum(), rtol=0.05)


def test_stray_light_is_a_smooth_background_of_its_fraction():
    with load_bench(_cfg(stray_light=0)) as dark, load_bench(_cfg(stray_light="2 %")) as lit:
        for b in (dark, lit):
            b.input_slm.display(np.zeros(b.input_slm.shape, int))
            b.fourier_slm.display(np.zeros(b.fourier_slm.shape, int))
        diff = lit.ideal_power().astype(np.float64) - dark.ideal_power()
        true_power = lit.truth()["laser_power"]
        assert dark.truth()["stray_light"] is None
    # the camera gets 2 % of the laser's true power as background
    assert diff.sum() == pytest.approx(0.02 * true_power, rel=1e-3)
    assert diff.min() > 0
    # smooth (not a copy of the signal): a 4-pixel blur leaves it within 0.5 %
    blurred = gaussian_filter(diff, 4.0, mode="nearest")
    assert np.sqrt(np.mean((diff - blurred) ** 2)) < 0.005 * np.sqrt(np.mean(diff**2))
    prof = StrayLight(0.1, (64, 80), np.random.default_rng(0)).profile
    assert prof.sum() == pytest.approx(1.0, rel=1e-5) and prof.shape == (64, 80)


def test_dcnu_grows_with_exposure():
    """Dark frames at two exposures: the difference of their mean frames (DSNU and offsets
    cancel) has the spatial rms ``K dcnu dT`` (with the dark current's shot noise averaged
    down), from the drawn dark-current map."""
    cam = SimulatedCamera((128, 128), gain=1.0, read_noise=1.0, dark_current=200.0, dsnu=3.0,
                          dcnu=40.0, full_well=60000, bit_depth=16, black_level=100, seed=2,
                          exposure_limits=(1e-5, 10.0))  # fmt: skip
    cam.set_source(None)
    means = {}
    for t in (0.1, 2.0):
        cam.set_exposure(t)
        means[t] = cam.capture(16, timeout=60).astype(np.float64).mean(axis=0)
    diff = means[2.0] - means[0.1]
    dark_map = cam.truth()["dark_current_map"]
    assert np.std(dark_map) == pytest.approx(40.0, rel=0.03)
    assert np.std(diff) == pytest.approx(np.std(dark_map) * 1.9, rel=0.05)
    np.testing.assert_allclose(np.corrcoef(diff.ravel(), dark_map.ravel())[0, 1], 1, atol=0.02)


def test_row_and_column_offsets_and_row_noise():
    """Fixed row and column offsets: the variance of the mean dark frame's row (column) means is
    the row (column) offset's, plus the pixel part over the row's length; temporal row noise:
    the row means of two frames' difference vary by 2 row_noise^2 (+ the pixel noise / W)."""
    h = w = 400
    cam = SimulatedCamera((h, w), gain=1.0, read_noise=2.0, dark_current=0.0, dsnu=1.0,
                          row_offset=3.0, column_offset=2.0, row_noise=1.5, full_well=60000,
                          bit_depth=16, black_level=200, seed=4)  # fmt: skip
    cam.set_source(None)
    frames = cam.capture(40).astype(np.float64)
    mean = frames.mean(axis=0)
    pixel_var = (1.0 + (2.0**2 + 1.5**2 + 1 / 12) / 40) / w
    assert np.var(mean.mean(axis=1)) == pytest.approx(9.0 + 1.5**2 / 40 + pixel_var, rel=0.2)
    assert np.var(mean.mean(axis=0)) == pytest.approx(4.0 + pixel_var, rel=0.2)
    d = frames[0] - frames[1]
    assert np.var(d.mean(axis=1)) == pytest.approx(2 * 1.5**2 + 2 * (4 + 1 / 12) / w, rel=0.2)
    assert np.var(d.mean(axis=0)) < 0.2  # the row noise is per row, not per column


def test_old_seeds_keep_their_other_truths():
    """The new sources are drawn after every existing draw: a bench with them on keeps the
    misalignment, the camera's DSNU/PRNU maps and the SLM LUTs of the same seed without them."""
    off = dict(flicker=0, stray_light=0, dcnu=0, row_offset=0, column_offset=0, row_noise=0)
    on = dict(flicker="0.1 rad", stray_light="1 %", dcnu="5 e-/s", row_offset="1 e-",
              column_offset="1 e-", row_noise="1 e-")  # fmt: skip
    with load_bench(_cfg(**off)) as a, load_bench(_cfg(**on)) as b:
        ta, tb = a.truth(), b.truth()
    assert ta["imperfections"] == tb["imperfections"]
    for key in ("dsnu_map", "prnu_map"):
        np.testing.assert_array_equal(ta["camera"][key], tb["camera"][key])
    np.testing.assert_array_equal(ta["fourier_slm"]["response"], tb["fourier_slm"]["response"])
    assert tb["camera"]["dcnu"] == 5.0 and tb["flicker"]["rms_rad"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("flicker", "-0.1 rad", "noise.flicker"),
        ("flicker", 0.1, "noise.flicker"),
        ("dcnu", "-1 e-/s", "noise.dcnu"),
        ("row_noise", 0.5, "noise.row_noise"),
        ("stray_light", -0.01, "noise.stray_light"),
        ("shot", "1 e-", "noise: unknown"),
    ],
)
def test_bad_noise_fields_are_refused_naming_them(field, value, match):
    with pytest.raises(BenchConfigError, match=match) as err:
        load_bench(_cfg(**{field: value}))
    assert "\n" not in str(err.value)


def test_batched_and_frame_by_frame_agree_with_every_source_on():
    """The batched capture integrates the same flicker windows (the exposures' start times on
    the bench's clock), the same stray light and camera patterns as the frame-by-frame capture
    through the device interface: the same DN with each pixel's mean drawn (``MeanNoise``: a
    seeded stream would turn the paths' float rounding into other draws)."""
    from test_run import KERNELS, bench_dict, mean_camera

    from devices.interface import Bench
    from fouroptics.compiler import compile_kernels

    d = bench_dict(misaligned=True)
    d["imperfections"]["noise"] = {"flicker": "0.3 rad", "stray_light": "1 %", "dcnu": "20 e-/s",
                                   "row_offset": "2 e-", "column_offset": "2 e-"}  # fmt: skip
    levels = np.random.default_rng(0).integers(0, 256, (3, 96, 96))
    out = {}
    for name in ("generic", "batched"):
        with load_bench(d) as bench:
            mean_camera(bench)
            assert bench.flicker is not None and bench.stray is not None
            bundle = compile_kernels(KERNELS, bench.system, image_size=8, detection="intensity",
                                     encoding="phase")  # fmt: skip
            bench.camera.set_exposure(2e-3)
            capture = Bench.capture_bundle if name == "generic" else type(bench).capture_bundle
            out[name] = capture(bench, bundle, levels).astype(np.float64)
            t = bench.time
    fg, fb = out["generic"], out["batched"]
    assert np.abs(fg - fb).max() <= 1 and np.mean(fg != fb) < 1e-3  # float32 FFT ties aside
    # the flicker moved the light between the exposures: not the same frame three times
    assert t > 0 and np.abs(np.diff(fg, axis=0)).mean() > 1
