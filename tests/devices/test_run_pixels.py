"""The batched run's shortcuts give the numbers of the long way: the capture evaluated at the
readout pixels only equals the full frames there, the input levels looked up in the bundle's
blocks only equal the full lookup, and the input fields built from a per-level table equal the
SLM's own field (fill factor, beam, decentring tilt; fringing falls back to the full path)."""

from __future__ import annotations

import numpy as np
import pytest
from test_run import bench_dict, bundle_for, images

from devices.config import load_bench
from devices.run.calibration import RunCalibration
from devices.run.levels import input_levels, support_box
from devices.simulated.imperfections import Imperfections
from devices.simulated.optics import TrueOptics


def _levels(bench, bundle, x):
    return input_levels(bench, bundle.input_transmission(x), RunCalibration())


@pytest.mark.parametrize("mode", ["mean", "rng", "camera"])
def test_capture_at_the_readout_pixels_equals_the_full_frames_there(mode):
    x = images(4, seed=7)
    out = {}
    for pixels in (False, True):
        with load_bench(bench_dict(misaligned=True)) as bench:
            bundle = bundle_for(bench)
            w = bundle.window_mask()
            lv = _levels(bench, bundle, x)
            # every window pixel and a few others (they hold the dark level, or the first
            # image's mean DN)
            px = np.union1d(np.flatnonzero(w.any(axis=0)), [0, 5, 77])
            opts = {
                "mean": {"noise": False},
                "rng": {"rng": np.random.default_rng(4)},
                "camera": {},
            }[mode]
            if pixels:
                out[pixels] = bench.capture_bundle(bundle, lv, windows=w, pixels=px, **opts)
                if mode != "camera":  # without the first image's frames: the same values
                    if mode == "rng":
                        opts["rng"] = np.random.default_rng(4)
                    again, none = bench.capture_bundle(
                        bundle, lv, windows=w, pixels=px, first=False, **opts
                    )
                    assert none is None
                    np.testing.assert_array_equal(again, out[pixels][0])
            else:
                full = bench.capture_bundle(bundle, lv, windows=w, **opts)
                out[pixels] = (full.reshape(*full.shape[:2], -1)[:, :, px], full[0])
    (vals, frame), (ref_vals, ref_frame) = out[True], out[False]
    assert vals.shape == ref_vals.shape == (4, bundle.n_frames, len(px))
    # the same numbers (the FFT's float32 rounding may differ with memory alignment)
    np.testing.assert_allclose(vals, ref_vals, rtol=1e-4, atol=1.0)
    np.testing.assert_allclose(frame, ref_frame, rtol=1e-4, atol=1.0)
    if mode == "mean":  # unrounded: the window's shorter sums round differently
        np.testing.assert_allclose(vals, ref_vals, rtol=2e-5, atol=1e-3)
    else:  # rounded to DN: a last-bit difference rarely crosses a step
        assert np.mean(vals != ref_vals) < 1e-3


def test_levels_in_the_blocks_equal_the_full_lookup():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench)
        t = bundle.input_transmission(images(3, seed=1))
        box = support_box(bundle)
        outside = np.ones(t.shape[1:], bool)
        outside[box] = False
        assert not t[:, outside].any()  # the box holds every lit pixel
        assert outside.mean() > 0.5  # and is small: the point of it
        inverse = RunCalibration(input_inverse_lut=np.arange(256)[::-1].copy())
        for cal in (RunCalibration(), inverse):
            np.testing.assert_array_equal(
                input_levels(bench, t, cal, box), input_levels(bench, t, cal)
            )


@pytest.mark.parametrize(
    "input_slm",
    [{"fill_factor": 0.8}, {"fringing": 0.05}, {"fill_factor": 0.9, "gamma": 2.2}],
)
@pytest.mark.parametrize("exact", [True, False])
def test_input_fields_equal_the_slm_field_times_the_light(input_slm, exact):
    d = bench_dict(misaligned=True)
    d["input_slm"].update(input_slm)
    d["laser"]["beam_waist"] = "0.3 mm"
    d["system"]["input_pixel_model"] = "point"  # the pixel mix goes into the field
    with load_bench(d) as bench:
        bundle = bundle_for(bench)
        lv = _levels(bench, bundle, images(2, seed=3))
        t = bench.truth()
        optics = TrueOptics(
            bench.system, bench.input_slm, bench.fourier_slm, bench.camera.shape,
            Imperfections(**t["imperfections"]), bench.laser_power, bench.beam_waist, 0.0,
        )  # fmt: skip
        light = optics.illumination()
        assert np.iscomplexobj(light)  # the decentring tilt
        got = optics.input_fields(lv, light if exact else light.astype(np.complex64), exact, False)
        ref = []
        for level in lv:  # one image at a time, through the SLM's own field
            ref.append(light * bench.input_slm.field(level, fill_factor=True))
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got, np.array(ref), rtol=2e-6, atol=1e-7 * np.abs(ref).max())
