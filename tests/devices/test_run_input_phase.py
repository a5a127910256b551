"""Images on a phase-only input SLM (#22 item 1): the double-phase encoding's field against a
direct FFT through an ideal low-pass and the shift theorem; the run path's levels; a complex
bundle run on a noise-free simulated bench with a phase-only input SLM against
scipy.signal.fftconvolve; the bundle that asks for it on an amplitude SLM refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft as sfft
from scipy.signal import fftconvolve

from calibration.phase_contrast import input_phase_lut
from calibration.session import Session
from devices.config import load_bench
from devices.run.calibration import RunCalibration
from devices.run.levels import input_levels
from devices.run.loop import RunStats
from fouroptics.compiler import compile_kernels, input_phase
from fouroptics.errors import ConfigError
from tests.devices.test_run import KERNELS, bench_dict, bundle_for, images, run


def _phase_bench() -> dict:
    d = bench_dict()
    d["input_slm"] = {"driver": "simulated", "modulation": "phase"}
    return d


def test_double_phase_spectrum_is_target_plus_carrier_at_the_nyquist_corner():
    """Shift theorem: FFT(e^{i theta}) = FFT(t) + i FFT(sqrt(1 - t^2)) moved by (N/2, N/2),
    up to the global sign of the pair about pi."""
    t = np.random.default_rng(1).random((32, 48))
    field = -input_phase.double_phase_field(t).astype(np.complex128)
    want = sfft.fft2(t) + 1j * np.roll(sfft.fft2(np.sqrt(1 - t**2)), (16, 24), axis=(0, 1))
    assert np.abs(sfft.fft2(field) - want).max() < 1e-4 * np.abs(want).max()
    assert np.allclose(np.abs(field), 1.0, atol=1e-6)  # phase only


def test_low_passed_double_phase_field_is_the_target_amplitude():
    """A band-limited target (a Gaussian blob, 8 px rms, on a 128-px panel) through an ideal
    circular low-pass of radius 1/8 cycle per pixel (scipy's FFT): the field is the target to
    1e-3; the module's own fidelity agrees on an upsampled digit-like image with a direct
    square low-pass."""
    n = 128
    r, c = np.mgrid[:n, :n] - n / 2
    t = 0.9 * np.exp(-(r**2 + c**2) / (2 * 8.0**2))
    f = sfft.fftfreq(n)
    lowpass = np.hypot(f[:, None], f[None, :]) <= 0.125
    field = -input_phase.double_phase_field(t).astype(np.complex128)  # the pair about pi
    got = sfft.ifft2(sfft.fft2(field) * lowpass)
    assert np.abs(got - t).max() < 1e-3
    img = (np.random.default_rng(2).random((1, 16, 16)) > 0.7).astype(float)
    up = np.repeat(np.repeat(img, 4, axis=-2), 4, axis=-1)
    square = (np.abs(sfft.fftfreq(64))[:, None] <= 0.125) & (np.abs(sfft.fftfreq(64)) <= 0.125)
    lp = sfft.ifft2(sfft.fft2(-input_phase.double_phase_field(up)[0].astype(complex)) * square)
    ref = sfft.ifft2(sfft.fft2(up[0]) * square)
    nrmse = np.sqrt(np.mean(np.abs(lp - ref) ** 2) / np.mean(np.abs(ref) ** 2))
    assert input_phase.double_phase_fidelity(up, 0.125)["nrmse"] == pytest.approx(nrmse, rel=1e-6)


def test_run_levels_show_the_double_phase_through_the_measured_inverse_lut():
    with load_bench(_phase_bench()) as bench:
        slm = bench.input_slm
        t = np.random.default_rng(3).random((2, *slm.shape)).astype(np.float32)
        inv = (np.arange(slm.levels) + 3) % slm.levels  # a made-up measured inverse LUT
        levels = input_levels(
            bench, t, RunCalibration(input_inverse_lut=inv), encoding="double-phase"
        )
        k = np.rint(np.mod(input_phase.double_phase(t), 2 * np.pi) / (2 * np.pi) * slm.levels)
        assert np.array_equal(levels, inv[k.astype(int) % slm.levels])


def test_complex_bundle_on_a_phase_only_input_slm_equals_convolution():
    """A phase-only input SLM showing double-phase images (upsample 2: the image band is a
    quarter cycle per pixel, the carrier's cells are the rest), an ideal complex Fourier mask,
    no noise, the input LUT measured through the bench's own devices (Zernike filter): the
    camera reads the bundle's twin to 2 % and the kernels' convolution (scipy) to 5 % (the
    double-phase term's block edges leave some carrier light in the band: the twin's own
    distance to the convolution, 3 %); with the uncalibrated nominal LUT (the simulated
    panel's range is not 2 pi) the run is off the twin by more."""
    d = _phase_bench()
    d["shutter"] = "manual"
    with load_bench(d) as bench:
        exposure = bench.camera.exposure
        inverse = input_phase_lut(Session(bench), step=16).inverse
        bench.camera.set_exposure(exposure)
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
            upsample=2,
        )  # fmt: skip
        bundle.meta["input_encoding"] = "double-phase"
        assert input_phase.stop_carrier(bundle) > 0
        x = images(4)
        twin = bundle.simulate(x)
        got = run(
            bench, bundle, x, {"input_inverse_lut": inverse}, capture_options={"noise": False}
        )
        nominal = run(bench, bundle, x, capture_options={"noise": False})
    ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])

    def off(a: np.ndarray, b: np.ndarray) -> float:  # b against a, a's scale fitted
        return float(np.linalg.norm(a * (a * b).sum() / (a * a).sum() - b) / np.linalg.norm(b))

    assert off(twin, got) < 0.02
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 0.05
    assert off(twin, nominal) > 2 * off(twin, got)


def test_fringing_input_slm_run_equals_convolution_with_the_drive_predistorted():
    """The run above on an input SLM whose fringing (c = 0.05, the simulated panel's own
    model) blurs its drive: the drive predistorted for the believed fringing
    (input_phase.predistort, image and surround) reads the kernels' convolution (scipy) as
    the ideal panel does (0.032); the checkerboard only driven 1 / (1 - 4c)^2 harder (no
    kernel in the bundle: the image's changes from pixel to pixel and the surround's grating
    blurred uncompensated) is 0.055 off."""
    from fouroptics.optics.pixels import fringing_kernel

    d = _phase_bench()
    d["input_slm"]["fringing"] = 0.05
    with load_bench(d) as bench:
        curve = np.asarray(bench.truth()["input_slm"]["response"], float)
        cal = {"input_curve": curve - curve[0]}
        bundle = compile_kernels(
            KERNELS, bench.system, image_size=8, detection="intensity", encoding="complex",
            upsample=2,
        )  # fmt: skip
        bundle.meta["input_encoding"] = "double-phase"
        bundle.meta["input_checkerboard_gain"] = input_phase.checkerboard_gain(0.05)
        input_phase.stop_carrier(bundle)
        x = images(4)
        bundle.arrays["input_crosstalk"] = fringing_kernel(0.05)
        stats = RunStats()
        got = run(bench, bundle, x, cal, stats=stats, capture_options={"noise": False})
        del bundle.arrays["input_crosstalk"]
        gain_only = run(  # on the same scale: its frames are too far off the twin to fit one
            bench, bundle, x, cal, exposure=stats.exposure.exposure,
            photometry=stats.photometry, capture_options={"noise": False},
        )  # fmt: skip
    ref = np.stack([[fftconvolve(im[0], k, mode="same") ** 2 for k in KERNELS] for im in x])

    def off(a: np.ndarray) -> float:  # against the convolution, a's scale fitted
        fit = a * (a * ref).sum() / (a * a).sum()
        return float(np.linalg.norm(fit - ref) / np.linalg.norm(ref))

    assert off(got) < 0.04  # 0.032; the ideal panel's run above: under 0.05
    assert off(gain_only) > 1.5 * off(got)  # 0.055


def test_double_phase_bundle_refused_on_an_amplitude_input_slm():
    with load_bench(bench_dict()) as bench:
        bundle = bundle_for(bench, "complex")
        bundle.meta["input_encoding"] = "double-phase"
        with pytest.raises(ConfigError, match="double-phase for a phase-only input SLM") as e:
            run(bench, bundle, images(2))
    assert "\n" not in str(e.value)


def test_compile_chooses_double_phase_for_a_phase_only_input_slm():
    from pathlib import Path

    from fouroptics.commands.compile_input import choose_input_encoding

    root = Path(__file__).resolve().parents[2] / "examples" / "benches"
    assert choose_input_encoding(root / "two_phase_slms.yaml", "auto") == "double-phase"
    assert choose_input_encoding(root / "misaligned_noisy.yaml", "auto") == "amplitude"
    with pytest.raises(ConfigError, match="--input-encoding amplitude: .* phase-only") as e:
        choose_input_encoding(root / "two_phase_slms.yaml", "amplitude")
    assert "\n" not in str(e.value)


def test_first_cycle_levels_keep_the_pair_about_the_middle():
    """A response passing 2 pi (7.2 rad over 256 levels) has two levels for a phase under
    0.9 rad; the first cycle's is taken, so pi +- a straddles the level of pi."""
    curve = np.linspace(0, 7.2, 256)
    lv = input_phase.first_cycle_levels(np.array([np.pi - 2.8, np.pi, np.pi + 2.8]), curve)
    want = [np.argmin(np.abs(curve - p)) for p in (np.pi - 2.8, np.pi, np.pi + 2.8)]
    assert list(lv) == want and lv[0] < 20  # not the alias near the top
    assert abs((lv[0] + lv[2]) / 2 - lv[1]) <= 1


def test_fringing_precompensated_checkerboard_leaves_a_zero_dark():
    """An LCoS whose fringing (c = 0.05: a checkerboard damped by (1 - 4c)^2 = 0.64) blurs
    its drive: a zero image shown as the plain pair pi +- pi/2 leaks a DC field of ~0.5
    of the light; driven 1/0.64 harder (the bench's declared fringing), < 0.1 (the rest: the
    nominal response's range, 5 % off this panel's, shifts the pair off its middle). The true
    field comes from the simulated SLM (its own fringing model), the levels through the
    nominal response (a belief)."""
    d = _phase_bench()
    d["input_slm"]["fringing"] = 0.05
    with load_bench(d) as bench:
        slm = bench.input_slm
        nominal = RunCalibration(input_curve=np.arange(slm.levels) * 2 * np.pi / slm.levels)
        t = np.zeros((1, *slm.shape), np.float32)
        dc = {}
        for gain in (1.0, input_phase.checkerboard_gain(0.05)):
            lv = input_levels(bench, t, nominal, encoding="double-phase", checkerboard_gain=gain)
            dc[gain] = abs(slm.fields(lv, fill_factor=False)[0, 16:-16, 16:-16].mean())
    assert dc[1.0] > 0.3
    assert dc[input_phase.checkerboard_gain(0.05)] < 0.1


def test_panel_map_divides_the_double_phase_so_a_zero_stays_dark():
    """A phase panel whose response varies across it (5 % rms: it shows ``m(y, x) curve(l)``)
    turns the pair ``pi +- pi/2`` of a zero into ``m (pi +- pi/2)``: its checkerboard's local
    mean (2 x 2 pixels, the simulated SLM's own true fields) leaks ``cos(m pi / 2)``, 0.08
    rms here. With the map in the calibration (fitted to the truth's map: a stand-in for the
    phase-contrast routine's), the run divides each pixel's phase by it: under 0.01."""
    from fouroptics.optics.panel import fit_panel, panel_coords

    d = _phase_bench()
    d["imperfections"] = {"lut": {"panel_spread": 0.05}}
    with load_bench(d) as bench:
        slm = bench.input_slm
        t = bench.truth()["input_slm"]
        curve = np.asarray(t["response"], float) - float(t["response"][0])
        m = np.asarray(t["panel"], float)
        coef = fit_panel(*np.broadcast_arrays(*panel_coords(m.shape)), m, ridge=0.0)
        zero = np.zeros((1, *slm.shape), np.float32)
        leak = {}
        for name, cal in (
            ("uniform", RunCalibration(input_curve=curve)),
            ("map", RunCalibration(input_curve=curve, input_panel=coef)),
        ):
            f = slm.fields(input_levels(bench, zero, cal, encoding="double-phase"), False)[0]
            local = f.reshape(f.shape[0] // 2, 2, f.shape[1] // 2, 2).mean(axis=(1, 3))
            leak[name] = float(np.sqrt(np.mean(np.abs(local) ** 2)))
    assert leak["uniform"] > 0.05
    assert leak["map"] < 0.01


def test_truth_calibration_of_a_phase_only_input_shows_the_double_phase():
    """``--calibration truth`` on a phase-only input SLM (its panel 5 % rms off uniform): the
    response from level 0 and the panel map, not an amplitude inverse LUT (flat on a phase
    panel), so a zero's checkerboard stays dark in the simulated SLM's own true fields (2 x 2
    local mean under 0.01; the amplitude inverse, the response over its maximum read as an
    amplitude, scaled the phases by 2 pi / range and left more)."""
    from devices.simulated.bench import truth_calibration

    d = _phase_bench()
    d["imperfections"] = {"lut": {"panel_spread": 0.05}}
    with load_bench(d) as bench:
        slm = bench.input_slm
        truth = truth_calibration(bench)
        zero = np.zeros((1, *slm.shape), np.float32)
        leak = {}
        amplitude = {k: v for k, v in truth.items() if k not in ("input_curve", "input_panel")}
        resp = np.asarray(bench.truth()["input_slm"]["response"], float)  # as truth read it:
        rel = resp / resp.max()  # the level whose "relative amplitude" is nearest k / (L - 1)
        want = np.arange(len(resp)) / (len(resp) - 1)
        amplitude["input_inverse_lut"] = np.abs(rel[None, :] - want[:, None]).argmin(axis=1)
        for name, cal in (("truth", truth), ("amplitude", amplitude)):
            lv = input_levels(bench, zero, RunCalibration.from_any(cal), encoding="double-phase")
            f = slm.fields(lv, False)[0]
            local = f.reshape(f.shape[0] // 2, 2, f.shape[1] // 2, 2).mean(axis=(1, 3))
            leak[name] = float(np.sqrt(np.mean(np.abs(local) ** 2)))
    assert leak["truth"] < 0.01
    assert leak["amplitude"] > 0.05
